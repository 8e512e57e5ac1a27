# PyTorch regression on the Friedman #1 benchmark (targets roughly 0..30, unscaled) with an MLP and MSELoss.
import numpy as np
import torch
from torch import nn
from sklearn.datasets import make_friedman1
from sklearn.model_selection import train_test_split

torch.manual_seed(0)
np.random.seed(0)

X, y = make_friedman1(n_samples=1500, n_features=8, noise=0.5, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
X_train, X_test = torch.tensor(X_train, dtype=torch.float32), torch.tensor(X_test, dtype=torch.float32)
y_train, y_test = torch.tensor(y_train, dtype=torch.float32), torch.tensor(y_test, dtype=torch.float32)

model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.MSELoss()

for epoch in range(80):
    perm = torch.randperm(len(X_train))
    for i in range(0, len(X_train), 64):
        idx = perm[i:i + 64]
        optimizer.zero_grad()
        loss = loss_fn(model(X_train[idx]).squeeze(1), y_train[idx])
        loss.backward()
        optimizer.step()
    if epoch % 10 == 0:
        print(f"epoch {epoch}: batch loss {loss.item():.3f}")

with torch.no_grad():
    pred = model(X_test).squeeze(1)
mse = torch.mean((pred - y_test) ** 2).item()
r2 = 1 - mse / torch.var(y_test, unbiased=False).item()
print(f"test mse: {mse:.3f}")
print(f"final r2: {r2:.4f}")
