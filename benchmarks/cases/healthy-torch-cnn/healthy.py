# PyTorch CNN on 20x20 synthetic images: ring vs filled disk vs cross.
import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(0)
S = 20
yy, xx = np.mgrid[0:S, 0:S]


def make_images(n):
    x = rng.uniform(0, 0.3, size=(n, 1, S, S)).astype("float32")
    y = rng.integers(0, 3, size=n)
    for i in range(n):
        cy, cx = rng.integers(6, S - 6, size=2)
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        if y[i] == 0:
            mask = np.abs(d - 4) < 1.0
        elif y[i] == 1:
            mask = d < 4
        else:
            mask = ((np.abs(yy - cy) < 1) & (np.abs(xx - cx) < 5)) | ((np.abs(xx - cx) < 1) & (np.abs(yy - cy) < 5))
        x[i, 0][mask] += 0.7
    return torch.tensor(x), torch.tensor(y, dtype=torch.long)


x_train, y_train = make_images(800)
x_test, y_test = make_images(200)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 5 * 5, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for epoch in range(8):
    model.train()
    perm = torch.randperm(len(x_train))
    for i in range(0, len(x_train), 32):
        idx = perm[i:i + 32]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: last batch loss {loss.item():.4f}")

model.eval()
with torch.no_grad():
    acc = (model(x_test).argmax(1) == y_test).float().mean().item()
print(f"final accuracy: {acc:.4f}")
