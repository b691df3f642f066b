"""A user-defined torch module, pickled whole by torch.save(model)."""

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, n_in=4, n_hidden=8, n_out=2):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class TinyConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(torch.relu(self.bn(self.conv(x)))), 1))
