import numpy as np
import torch
from torch import nn
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

torch.manual_seed(0)
rng = np.random.default_rng(0)

# sensor readings in raw units: large offsets and scales per column
X, y = make_classification(n_samples=2000, n_features=12, n_informative=8, n_redundant=2, n_classes=3,
                           n_clusters_per_class=1, class_sep=1.5, random_state=0)
X = X * rng.uniform(50, 300, size=12) + rng.uniform(500, 2000, size=12)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
X_train = torch.tensor(X_train, dtype=torch.float32)
X_test = torch.tensor(X_test, dtype=torch.float32)
y_train, y_test = torch.tensor(y_train), torch.tensor(y_test)

model = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(15):
    perm = torch.randperm(len(X_train))
    for i in range(0, len(X_train), 64):
        idx = perm[i:i + 64]
        optimizer.zero_grad()
        loss = criterion(model(X_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")

with torch.no_grad():
    pred = model(X_test).argmax(dim=1)
print(f"final accuracy: {(pred == y_test).float().mean().item():.4f}")
