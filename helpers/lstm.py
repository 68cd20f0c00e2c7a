"""Train many small LSTM classifiers at once, each exactly as if trained alone.

A *configuration* is (hidden_size, learning_rate, window_size, epochs, batch_size, num_layers)
plus its own training data (sequences and labels) and its own initialization seed. Trained
alone, it is the seed notebook's model: ``nn.LSTM(batch_first=True)`` -> last hidden state ->
``nn.Linear(hidden, 1)``, ``BCEWithLogitsLoss(pos_weight=neg/pos)``, ``torch.optim.Adam``,
mini-batches in time order (no shuffling).

Batching: configurations with the same batch size, number of layers, hidden size and window
are stacked (any learning rates, data and seeds). Weights get a leading configuration axis and
the recurrence runs with batched matrix products. The stack also accepts mixed hidden sizes
(padded and masked) and mixed windows (left-padded, the state held at zero until a
configuration's first real step), which the tests use, but grouping them apart avoids padded
work; each configuration keeps its own
learning rate, Adam state and step count, and stops updating after its own last step. The
result equals one-by-one training up to float rounding (``tests/test_lstm.py`` checks this).
"""

from __future__ import annotations

import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Config:
    """One LSTM configuration (the seed's grid keys)."""

    hidden_size: int
    learning_rate: float
    window_size: int
    epochs: int
    batch_size: int
    num_layers: int

    def __post_init__(self):
        for name in ("hidden_size", "window_size", "epochs", "batch_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1; got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate}")


@dataclass
class Task:
    """A configuration with its data: sequences X (n, window, features), labels y (n,)."""

    config: Config
    X: np.ndarray
    y: np.ndarray
    seed: int
    key: tuple = ()
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None


@dataclass
class Trained:
    """A trained configuration: its weights (nn.LSTM / nn.Linear state) and losses."""

    task: Task
    lstm_state: dict
    head_state: dict
    train_losses: list = field(default_factory=list)  # mean batch loss per epoch
    val_loss: float = float("nan")
    val_probs: np.ndarray | None = None  # probabilities on the validation sequences

    def model(self) -> SeedLSTM:
        """The trained model as a standalone torch module."""
        c = self.task.config
        m = SeedLSTM(self.task.X.shape[2], c.hidden_size, c.num_layers)
        m.lstm.load_state_dict(self.lstm_state)
        m.linear.load_state_dict(self.head_state)
        return m.to(next(iter(self.lstm_state.values())).dtype)


class SeedLSTM(nn.Module):
    """The seed's classifier: LSTM, last time step, linear head to one logit."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.linear(out[:, -1, :]).squeeze(-1)


def init_model(input_size: int, config: Config, seed: int, dtype=torch.float64) -> SeedLSTM:
    """A freshly initialized model, identical for the batched and the one-by-one trainer."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return SeedLSTM(input_size, config.hidden_size, config.num_layers).to(dtype)
    finally:
        torch.random.set_rng_state(gen_state)


def pos_weight_of(y: np.ndarray) -> float:
    """BCE positive weight negatives / positives, as in the seed (1 when a class is empty)."""
    pos = float(np.sum(y))
    neg = float(len(y) - pos)
    return neg / pos if pos > 0 and neg > 0 else 1.0


@contextmanager
def single_thread():
    """Run torch on one thread: results then do not depend on the machine's core count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- one by one (reference)


def train_one(task: Task, dtype=torch.float64, device: str = "cpu") -> Trained:
    """Train a single configuration with torch.nn.LSTM and torch.optim.Adam (the reference)."""
    c = task.config
    model = init_model(task.X.shape[2], c, task.seed, dtype).to(device)
    X = torch.as_tensor(task.X, dtype=dtype, device=device)
    y = torch.as_tensor(task.y, dtype=dtype, device=device)
    crit = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight_of(task.y), dtype=dtype, device=device))
    opt = torch.optim.Adam(model.parameters(), lr=c.learning_rate)
    losses = []
    for _ in range(c.epochs):
        total, n_batches = 0.0, 0
        for i in range(0, len(X), c.batch_size):
            opt.zero_grad()
            loss = crit(model(X[i:i + c.batch_size]), y[i:i + c.batch_size])
            loss.backward()
            opt.step()
            total += float(loss.detach())
            n_batches += 1
        losses.append(total / n_batches)
    out = Trained(task, {k: v.detach().cpu() for k, v in model.lstm.state_dict().items()},
                  {k: v.detach().cpu() for k, v in model.linear.state_dict().items()}, losses)
    if task.X_val is not None and len(task.X_val):
        with torch.no_grad():
            logits = model(torch.as_tensor(task.X_val, dtype=dtype, device=device))
            out.val_loss = float(crit(logits, torch.as_tensor(task.y_val, dtype=dtype, device=device)))
    return out


# --------------------------------------------------------------------------- batched


# nn.LSTM stores gates as (i, f, g, o); the stack stores them as (i, f, o, g) so that one sigmoid
# covers the first three blocks. _rows maps nn.LSTM's rows of a size-h layer into the stack.
_TORCH_TO_STACK = (0, 1, 3, 2)


def _rows(h: int, H: int) -> torch.Tensor:
    """Stack rows receiving nn.LSTM gate rows (i, f, g, o) of a layer with h hidden units."""
    return torch.cat([torch.arange(k * H, k * H + h) for k in _TORCH_TO_STACK])


class _Stack:
    """Stacked, padded parameters of G configurations sharing batch size and layer count."""

    def __init__(self, tasks: list[Task], dtype, device):
        self.G = len(tasks)
        self.L = tasks[0].config.num_layers
        self.n_in = tasks[0].X.shape[2]
        self.H = max(t.config.hidden_size for t in tasks)
        G, L, H, n_in = self.G, self.L, self.H, self.n_in
        z = lambda *s: torch.zeros(*s, dtype=dtype, device=device)  # noqa: E731
        self.w_ih = [z(G, 4 * H, n_in if layer == 0 else H) for layer in range(L)]
        self.w_hh = [z(G, 4 * H, H) for _ in range(L)]
        # two biases, as nn.LSTM: Adam steps each one, so merging them would change training
        self.b_ih = [z(G, 4 * H) for _ in range(L)]
        self.b_hh = [z(G, 4 * H) for _ in range(L)]
        self.head_w = z(G, H)
        self.head_b = z(G)
        self.hmask = z(G, H)
        for g, t in enumerate(tasks):
            h = t.config.hidden_size
            self.hmask[g, :h] = 1.0
            model = init_model(n_in, t.config, t.seed, dtype)
            sd = model.lstm.state_dict()
            rows = _rows(h, H).to(device)
            for layer in range(L):
                cols = n_in if layer == 0 else h
                self.w_ih[layer][g, rows, :cols] = sd[f"weight_ih_l{layer}"].to(device)
                self.w_hh[layer][g, rows, :h] = sd[f"weight_hh_l{layer}"].to(device)
                self.b_ih[layer][g, rows] = sd[f"bias_ih_l{layer}"].to(device)
                self.b_hh[layer][g, rows] = sd[f"bias_hh_l{layer}"].to(device)
            self.head_w[g, :h] = model.linear.weight.detach()[0].to(device)
            self.head_b[g] = model.linear.bias.detach()[0].to(device)
        # gate-row mask (G, 4H): padded units keep zero weights and zero gradients
        self.gmask = self.hmask.repeat(1, 4)

    def params(self) -> list[torch.Tensor]:
        return [*self.w_ih, *self.w_hh, *self.b_ih, *self.b_hh, self.head_w, self.head_b]

    def forward(self, x: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        """Logits (G, B) for inputs x (G, B, T, I); config g's real steps start at start[g]."""
        G, B, T, _ = x.shape
        inp = x
        for layer in range(self.L):
            w_ih = self.w_ih[layer] * self.gmask[:, :, None]
            w_hh = self.w_hh[layer] * self.gmask[:, :, None] * self.hmask[:, None, :]
            bias = ((self.b_ih[layer] + self.b_hh[layer]) * self.gmask)[:, None, :]
            # unbind, not pre[:, :, t]: a slice's backward would zero-fill the whole tensor per step
            pre = torch.einsum("gbti,ghi->gbth", inp, w_ih).unbind(2)
            w_hh_t = w_hh.transpose(1, 2)
            h = x.new_zeros(G, B, self.H)
            c = x.new_zeros(G, B, self.H)
            outs = []
            H = self.H
            first_all_live = int(start.max())
            for t in range(T):
                gates = torch.baddbmm(pre[t] + bias, h, w_hh_t)
                sig = torch.sigmoid(gates[:, :, : 3 * H])
                c_new = torch.addcmul(sig[:, :, H: 2 * H] * c, sig[:, :, :H], torch.tanh(gates[:, :, 3 * H:]))
                h_new = sig[:, :, 2 * H:] * torch.tanh(c_new)
                if t < first_all_live:  # left-padded steps of shorter windows keep a zero state
                    live = (t >= start)[:, None, None]
                    c_new = torch.where(live, c_new, c)
                    h_new = torch.where(live, h_new, h)
                c, h = c_new, h_new
                outs.append(h)
            inp = torch.stack(outs, dim=2)
        return torch.einsum("gbh,gh->gb", h, self.head_w * self.hmask) + self.head_b[:, None]

    def export(self, g: int, task: Task) -> tuple[dict, dict]:
        """nn.LSTM / nn.Linear state dicts of configuration g."""
        h, H = task.config.hidden_size, self.H
        rows = _rows(h, H)
        lstm, head = {}, {}
        for layer in range(self.L):
            cols = self.n_in if layer == 0 else h
            lstm[f"weight_ih_l{layer}"] = self.w_ih[layer][g, rows, :cols].detach().cpu().clone()
            lstm[f"weight_hh_l{layer}"] = self.w_hh[layer][g, rows, :h].detach().cpu().clone()
            lstm[f"bias_ih_l{layer}"] = self.b_ih[layer][g, rows].detach().cpu().clone()
            lstm[f"bias_hh_l{layer}"] = self.b_hh[layer][g, rows].detach().cpu().clone()
        head["weight"] = self.head_w[g, :h].detach().cpu().clone()[None, :]
        head["bias"] = self.head_b[g:g + 1].detach().cpu().clone()
        return lstm, head


def _batches(task: Task, step_in_epoch: int) -> tuple[int, int]:
    bs = task.config.batch_size
    return step_in_epoch * bs, min((step_in_epoch + 1) * bs, len(task.X))


def _train_group(tasks: list[Task], dtype, device) -> list[Trained]:
    """Train configurations that share batch size and layer count, all at once."""
    st = _Stack(tasks, dtype, device)
    G, bs = st.G, tasks[0].config.batch_size
    T = max(t.config.window_size for t in tasks)
    n_in = st.n_in
    start = torch.tensor([T - t.config.window_size for t in tasks], device=device)
    steps_per_epoch = [math.ceil(len(t.X) / bs) for t in tasks]
    total_steps = [s * t.config.epochs for s, t in zip(steps_per_epoch, tasks)]
    # left-padded data, one tensor per configuration
    data = torch.zeros(G, max(len(t.X) for t in tasks), T, n_in, dtype=dtype, device=device)
    labels = torch.zeros(G, data.shape[1], dtype=dtype, device=device)
    for g, t in enumerate(tasks):
        data[g, : len(t.X), T - t.config.window_size:] = torch.as_tensor(t.X, dtype=dtype)
        labels[g, : len(t.y)] = torch.as_tensor(t.y, dtype=dtype)
    pos_w = torch.tensor([pos_weight_of(t.y) for t in tasks], dtype=dtype, device=device)[:, None]
    lr = torch.tensor([t.config.learning_rate for t in tasks], dtype=dtype, device=device)
    params = st.params()
    for p in params:
        p.requires_grad_(True)
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    epoch_loss = torch.zeros(G, dtype=dtype)
    losses: list[list[float]] = [[] for _ in tasks]
    idx = torch.arange(bs, device=device)
    for step in range(max(total_steps)):
        live = [step < s for s in total_steps]
        active = torch.tensor(live, device=device)
        offs, ns = [], []
        for g, t in enumerate(tasks):
            lo, hi = _batches(t, step % steps_per_epoch[g]) if live[g] else (0, 0)
            offs.append(lo)
            ns.append(hi - lo)
        off = torch.tensor(offs, device=device)
        n = torch.tensor(ns, device=device, dtype=dtype)
        rows = (off[:, None] + idx[None, :]).clamp(max=data.shape[1] - 1)
        valid = (idx[None, :] < n[:, None]).to(dtype)
        xb = torch.gather(data, 1, rows[:, :, None, None].expand(G, bs, T, n_in))
        yb = torch.gather(labels, 1, rows)
        logits = st.forward(xb, start)
        # BCEWithLogits with pos_weight, mean over each configuration's own batch
        per = pos_w * yb * nn.functional.softplus(-logits) + (1 - yb) * nn.functional.softplus(logits)
        loss_g = (per * valid).sum(1) / n.clamp(min=1)
        grads = torch.autograd.grad(loss_g.sum(), params)
        with torch.no_grad():
            act = active.to(dtype)
            t_step = torch.tensor([min(step + 1, s) for s in total_steps], dtype=dtype, device=device)
            for k, (p, gr) in enumerate(zip(params, grads)):
                shape = (G,) + (1,) * (p.dim() - 1)
                a = act.view(shape)
                m[k] = torch.where(a > 0, beta1 * m[k] + (1 - beta1) * gr, m[k])
                v[k] = torch.where(a > 0, beta2 * v[k] + (1 - beta2) * gr * gr, v[k])
                bc1 = (1 - beta1 ** t_step).view(shape)
                bc2 = (1 - beta2 ** t_step).view(shape)
                denom = (v[k].sqrt() / bc2.sqrt()) + eps
                p -= a * (lr.view(shape) / bc1) * m[k] / denom
            epoch_loss += loss_g.detach().cpu() * act.cpu()
            for g in range(G):
                if live[g] and (step + 1) % steps_per_epoch[g] == 0:
                    losses[g].append(float(epoch_loss[g]) / steps_per_epoch[g])
                    epoch_loss[g] = 0.0
    out = []
    with torch.no_grad():
        for g, t in enumerate(tasks):
            lstm, head = st.export(g, t)
            out.append(Trained(t, lstm, head, losses[g]))
    return out


def _train_group_single_thread(tasks: list[Task], dtype) -> list[Trained]:
    with single_thread():
        return _train_group(tasks, dtype, "cpu")


def train_many(tasks: list[Task], dtype=torch.float64, device: str = "cpu", n_jobs: int = 1,
               progress: bool = False) -> list[Trained]:
    """Train every task; results in the tasks' order, validation loss where validation data exists.

    Tasks are batched by batch size, layers, hidden size and window. On the CPU each group runs on one
    thread, so results do not depend on the machine's thread count; ``n_jobs`` groups run at
    once in separate processes (same results, more cores used).
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, t in enumerate(tasks):
        groups[(t.config.batch_size, t.config.num_layers, t.config.hidden_size, t.config.window_size,
                t.X.shape[2])].append(i)
    # biggest groups first, so parallel workers finish together
    order = sorted(groups.values(), key=lambda idx: -sum(tasks[i].config.epochs * len(tasks[i].X) for i in idx))
    groups_of_tasks = [[tasks[i] for i in idx] for idx in order]
    if device != "cpu":
        trained_groups = (_train_group(g, dtype, device) for g in groups_of_tasks)
    elif n_jobs == 1:
        trained_groups = (_train_group_single_thread(g, dtype) for g in groups_of_tasks)
    else:
        from joblib import Parallel, delayed

        trained_groups = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_train_group_single_thread)(g, dtype) for g in groups_of_tasks)
    results: list[Trained | None] = [None] * len(tasks)
    bar = _bar(len(order), progress)
    for idx, trained in zip(order, trained_groups):
        for i, tr in zip(idx, trained):
            results[i] = tr
        bar.update(1)
    bar.close()
    with single_thread():
        for r in results:
            t = r.task
            if t.X_val is not None and len(t.X_val):
                r.val_probs = predict_proba(r, t.X_val, dtype)
                r.val_loss = bce(r.val_probs, t.y_val, pos_weight_of(t.y))
    return results


def _bar(total: int, show: bool):
    from tqdm.std import tqdm

    return tqdm(total=total, desc="training LSTM groups", unit="group", disable=not show)


def predict_proba(trained: Trained, X: np.ndarray, dtype=torch.float64, device: str = "cpu") -> np.ndarray:
    """Probabilities of the positive class for sequences X (n, window, features)."""
    model = trained.model().to(device)
    with torch.no_grad():
        logits = model(torch.as_tensor(X, dtype=dtype, device=device))
    return torch.sigmoid(logits).cpu().numpy()


def bce(probs: np.ndarray, y: np.ndarray, pos_weight: float = 1.0) -> float:
    """Mean binary cross-entropy with a positive-class weight (as BCEWithLogitsLoss)."""
    p = np.clip(probs, 1e-12, 1 - 1e-12)
    return float(np.mean(-(pos_weight * y * np.log(p) + (1 - y) * np.log(1 - p))))
