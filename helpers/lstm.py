"""Train many small LSTM classifiers at once, each exactly as if trained alone.

A *configuration* is (hidden_size, learning_rate, window_size, epochs, batch_size, num_layers)
plus its own training data (sequences and labels) and its own initialization seed. Trained
alone, it is the seed notebook's model: ``nn.LSTM(batch_first=True)`` -> last hidden state ->
``nn.Linear(hidden, 1)``, ``BCEWithLogitsLoss(pos_weight=neg/pos)``, ``torch.optim.Adam``,
mini-batches in time order (no shuffling). ``train_one`` does exactly that (the reference).

Batching (``train_many``): configurations with the same hidden size, window, batch size, layers
and inputs form a group, whatever their learning rates, data and seeds. A group's weights get a
leading configuration axis and one hand-written forward and backward pass (BPTT) trains them all:
batched matrix products for the recurrence, fused pointwise steps (C kernels from
``csrc/lstm_kernels.c`` when a compiler is available, torch operations otherwise) and one Adam
pass over all parameters. Each configuration keeps its own learning rate, Adam state and step
count, and stops after its own last step. The result equals one-by-one training up to float
rounding (``tests/test_lstm.py``).

Resuming (successive halving in ``helpers/grid.py``): ``train_many(..., keep_state=True)`` keeps
each result's Adam moments and step count; a task with ``resume=`` that result continues its
training to ``config.epochs``, exactly as if it had been trained that long in one go.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from helpers import ckernels


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
    resume: Trained | None = None  # continue this training (same data) up to config.epochs


@dataclass
class Trained:
    """A trained configuration: its weights (nn.LSTM / nn.Linear state) and losses."""

    task: Task
    lstm_state: dict
    head_state: dict
    train_losses: list = field(default_factory=list)  # mean batch loss per epoch
    val_loss: float = float("nan")
    val_probs: np.ndarray | None = None  # probabilities on the validation sequences
    adam: tuple | None = None  # Adam's (m, v), flat (P,), kept when asked: training can resume
    steps: int = 0  # optimizer steps taken

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


class _TorchSteps:
    """Pointwise parts of one LSTM time step and of Adam, as torch operations (any device).

    Same contract as the C kernels in ``csrc/lstm_kernels.c``: gates (G, 4H, B) in blocks
    i, f, g, o; states (G, H, B).
    """

    def forward(self, a, c_prev, c, tc, h):
        """Pre-activations a become activations in place; writes cell c, tanh(c) tc, hidden h."""
        H = c.shape[1]
        a[:, 2 * H:3 * H].mul_(2)
        a.sigmoid_()
        i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
        g.mul_(2).sub_(1)                                   # tanh(x) = 2 sigmoid(2x) - 1
        torch.mul(i, g, out=c).addcmul_(f, c_prev)
        torch.mul(c, 2, out=tc).sigmoid_().mul_(2).sub_(1)
        torch.mul(o, tc, out=h)

    def backward(self, act, c_prev, tc, dh, dh2, dc, dgates):
        """Gate gradients of one step from d h_t = dh + dh2; dc: d c_t from step t+1 in, d c_t f_t out."""
        H = tc.shape[1]
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        d = dh + dh2
        dcc = dc + d * o * (1 - tc * tc)
        torch.mul(dcc * g, i * (1 - i), out=dgates[:, :H])
        torch.mul(dcc * c_prev, f * (1 - f), out=dgates[:, H:2 * H])
        torch.mul(dcc * i, 1 - g * g, out=dgates[:, 2 * H:3 * H])
        torch.mul(d * tc, o * (1 - o), out=dgates[:, 3 * H:])
        torch.mul(dcc, f, out=dc)

    def adam(self, theta, grad, m, v, step_size, bc2_sqrt, active, beta1, beta2, eps):
        """One Adam step on the active rows of theta (G, P); step_size and bc2_sqrt per row (G,)."""
        a = active.to(theta.device, torch.bool)[:, None]
        m.copy_(torch.where(a, m + (1 - beta1) * (grad - m), m))
        v.copy_(torch.where(a, beta2 * v + (1 - beta2) * grad * grad, v))
        step = step_size[:, None] * (m / (v.sqrt() / bc2_sqrt[:, None] + eps))
        theta.sub_(torch.where(a, step, 0))


class _CSteps:
    """The same steps with the fused C kernels. Every tensor must be contiguous and on the CPU
    (the kernels read raw pointers), which ``_Group``'s buffers are."""

    def __init__(self, lib, dtype):
        suffix = {torch.float32: "f32", torch.float64: "f64"}[dtype]
        self._fwd = getattr(lib, f"lstm_forward_{suffix}")
        self._bwd = getattr(lib, f"lstm_backward_{suffix}")
        self._adam = getattr(lib, f"adam_step_{suffix}")

    def forward(self, a, c_prev, c, tc, h):
        self._fwd(a.data_ptr(), c_prev.data_ptr(), c.data_ptr(), tc.data_ptr(), h.data_ptr(), c.shape[0],
                  c.shape[1] * c.shape[2])

    def backward(self, act, c_prev, tc, dh, dh2, dc, dgates):
        self._bwd(act.data_ptr(), c_prev.data_ptr(), tc.data_ptr(), dh.data_ptr(), dh2.data_ptr(), dc.data_ptr(),
                  dgates.data_ptr(), tc.shape[0], tc.shape[1] * tc.shape[2])

    def adam(self, theta, grad, m, v, step_size, bc2_sqrt, active, beta1, beta2, eps):
        active = active.to(torch.uint8)  # keep a reference: a temporary's memory may be freed before the call
        self._adam(theta.data_ptr(), grad.data_ptr(), m.data_ptr(), v.data_ptr(), step_size.data_ptr(),
                   bc2_sqrt.data_ptr(), active.data_ptr(), beta1, beta2, eps, *theta.shape)


def _steps(dtype, device: str, use_c: bool | None = None):
    """C kernels on the CPU when they can be built (or use_c says so), else torch operations."""
    if use_c is False or device != "cpu" or dtype not in (torch.float32, torch.float64):
        return _TorchSteps()
    lib = ckernels.load()
    if lib is None:
        if use_c:
            raise RuntimeError("the LSTM C kernels are not available (see the warning above)")
        return _TorchSteps()
    return _CSteps(lib, dtype)


def _shape(task: Task) -> tuple[int, int, int, int, int]:
    """What configurations of one group share: (hidden, window, batch, layers, inputs)."""
    c = task.config
    return c.hidden_size, c.window_size, c.batch_size, c.num_layers, task.X.shape[2]


def _parameter_shapes(num_layers: int, hidden: int, n_in: int) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of the seed's model: nn.LSTM's state dict, then the linear head."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(num_layers):
        shapes[f"weight_ih_l{layer}"] = (4 * hidden, n_in if layer == 0 else hidden)
        shapes[f"weight_hh_l{layer}"] = (4 * hidden, hidden)
        shapes[f"bias_ih_l{layer}"] = (4 * hidden,)
        shapes[f"bias_hh_l{layer}"] = (4 * hidden,)
    return {**shapes, "head.weight": (1, hidden), "head.bias": (1,)}


class _Group:
    """G configurations of one shape (hidden size, window, batch size, layers, inputs), trained at once.

    Parameters are one flat (G, P) tensor laid out as nn.LSTM's state dict then the head, so Adam
    is one pass; ``view`` gives a named parameter as (G, *shape). Activations are time-major and
    feature-major, (T, G, features, B), so each time step and each gate block is contiguous. All
    buffers are allocated once and reused by every step.
    """

    def __init__(self, tasks: list[Task], dtype, device, steps):
        c = tasks[0].config
        shapes = {_shape(t) for t in tasks}
        if len(shapes) != 1:
            raise ValueError(f"a group needs one (hidden, window, batch, layers, inputs) shape; got {shapes}")
        self.G, self.L, self.H, self.T = len(tasks), c.num_layers, c.hidden_size, c.window_size
        self.B, self.n_in, self.steps = c.batch_size, tasks[0].X.shape[2], steps
        G, L, H, T, B = self.G, self.L, self.H, self.T, self.B
        self.shapes = _parameter_shapes(L, H, self.n_in)
        ends = np.cumsum([math.prod(s) for s in self.shapes.values()])
        self.offsets = {k: (int(end - math.prod(s)), int(end)) for (k, s), end in zip(self.shapes.items(), ends)}
        self.theta = torch.zeros(G, int(ends[-1]), dtype=dtype, device=device)
        for g, t in enumerate(tasks):
            if t.resume is not None:  # the weights where an earlier training stopped
                lstm, head = t.resume.lstm_state, t.resume.head_state
            else:
                model = init_model(self.n_in, t.config, t.seed, dtype)
                lstm, head = model.lstm.state_dict(), model.linear.state_dict()
            state = {**lstm, **{f"head.{k}": v for k, v in head.items()}}
            self.theta[g] = torch.cat([state[k].reshape(-1) for k in self.shapes]).to(device, dtype)
        self.grad = torch.zeros_like(self.theta)
        empty = lambda *s: torch.empty(*s, dtype=dtype, device=device)  # noqa: E731
        self.act = [empty(T, G, 4 * H, B) for _ in range(L)]   # gate activations i, f, g, o
        self.c = [empty(T, G, H, B) for _ in range(L)]         # cell
        self.tc = [empty(T, G, H, B) for _ in range(L)]        # tanh(cell)
        self.h = [empty(T, G, H, B) for _ in range(L)]         # hidden state
        self.dgates = empty(T, G, 4 * H, B)
        self.dh_below = empty(T, G, H, B)                      # gradient into the layer below's outputs
        self.dh, self.dc = empty(G, H, B), empty(G, H, B)
        self.zeros = torch.zeros(G, H, B, dtype=dtype, device=device)
        # weight gradients accumulate transposed, (G, inputs, 4H): that product shape runs faster
        self.dw_hh_t = empty(G, H, 4 * H)
        self.dw_ih_t = [empty(G, self.n_in if layer == 0 else H, 4 * H) for layer in range(L)]

    def view(self, flat: torch.Tensor, name: str) -> torch.Tensor:
        """Parameter ``name`` of every configuration, (G, *shape), as a view into flat (G, P)."""
        a, b = self.offsets[name]
        return flat[:, a:b].view(self.G, *self.shapes[name])

    def export(self, g: int) -> tuple[dict, dict]:
        """nn.LSTM and nn.Linear state dicts of configuration g."""
        lstm = {k: self.view(self.theta, k)[g].cpu().clone() for k in self.shapes if not k.startswith("head")}
        head = {k: self.view(self.theta, f"head.{k}")[g].cpu().clone() for k in ("weight", "bias")}
        return lstm, head

    def _weights(self, layer: int) -> tuple[torch.Tensor, ...]:
        """Contiguous copies of one layer's weights (the flat views are strided): made once per step."""
        w_ih = self.view(self.theta, f"weight_ih_l{layer}").contiguous()
        w_hh = self.view(self.theta, f"weight_hh_l{layer}").contiguous()
        bias = self.view(self.theta, f"bias_ih_l{layer}") + self.view(self.theta, f"bias_hh_l{layer}")
        return w_ih, w_hh, bias[:, :, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Top layer's hidden state at the last step (G, H, B) for inputs x (T, G, I, B)."""
        self.w = [self._weights(layer) for layer in range(self.L)]
        inp = x
        for layer, (w_ih, w_hh, bias) in enumerate(self.w):
            act, c, tc, h = self.act[layer], self.c[layer], self.tc[layer], self.h[layer]
            for t in range(self.T):
                torch.baddbmm(bias, w_ih, inp[t], out=act[t])
                if t > 0:  # at t = 0 the state is zero: no recurrent product
                    act[t].baddbmm_(w_hh, h[t - 1])
                self.steps.forward(act[t], c[t - 1] if t > 0 else self.zeros, c[t], tc[t], h[t])
            inp = h
        return inp[self.T - 1]

    def backward(self, x: torch.Tensor, dh_top: torch.Tensor) -> None:
        """Gradients of all LSTM parameters into self.grad, from d loss / d (last top hidden state)."""
        T, zeros = self.T, self.zeros
        for layer in reversed(range(self.L)):
            act, c, tc, h = self.act[layer], self.c[layer], self.tc[layer], self.h[layer]
            inp = x if layer == 0 else self.h[layer - 1]
            w_ih, w_hh, _ = self.w[layer]
            w_ih_t, w_hh_t = w_ih.transpose(1, 2), w_hh.transpose(1, 2)
            dw_hh_t, dw_ih_t, dgates, dh, dc = self.dw_hh_t, self.dw_ih_t[layer], self.dgates, self.dh, self.dc
            dw_hh_t.zero_()
            dw_ih_t.zero_()
            dc.zero_()
            top = layer == self.L - 1
            for t in reversed(range(T)):
                # gradient of h_t: from the head (top layer, last step) or the layer above, plus from step t+1
                from_above = (dh_top if t == T - 1 else zeros) if top else self.dh_below[t]
                from_next = dh if t < T - 1 else zeros
                self.steps.backward(act[t], c[t - 1] if t > 0 else zeros, tc[t], from_above, from_next, dc,
                                    dgates[t])
                dw_ih_t.baddbmm_(inp[t], dgates[t].transpose(1, 2))
                if t > 0:
                    dw_hh_t.baddbmm_(h[t - 1], dgates[t].transpose(1, 2))
                    torch.bmm(w_hh_t, dgates[t], out=dh)
                if layer > 0:  # into the layer below; after its own use of dh_below[t] above
                    torch.bmm(w_ih_t, dgates[t], out=self.dh_below[t])
            self.view(self.grad, f"weight_hh_l{layer}").copy_(dw_hh_t.transpose(1, 2))
            self.view(self.grad, f"weight_ih_l{layer}").copy_(dw_ih_t.transpose(1, 2))
            db = dgates.sum(3).sum(0)  # contiguous axis first: faster than sum((0, 3))
            self.view(self.grad, f"bias_ih_l{layer}").copy_(db)
            self.view(self.grad, f"bias_hh_l{layer}").copy_(db)


def _bce_and_grad(logits, y, valid, n, pos_w):
    """BCEWithLogits(pos_weight) per configuration, mean over its own batch, and d loss / d logits."""
    per = pos_w * y * nn.functional.softplus(-logits) + (1 - y) * nn.functional.softplus(logits)
    loss = (per * valid).sum(1) / n
    p = torch.sigmoid(logits)
    return loss, (-pos_w * y * (1 - p) + (1 - y) * p) * (valid / n[:, None])


def _resumed_steps(task: Task, steps_per_epoch: int) -> int:
    """Optimizer steps already taken by the training a task resumes (0 for a fresh one)."""
    r = task.resume
    if r is None:
        return 0
    if r.adam is None or r.steps % steps_per_epoch or r.steps > steps_per_epoch * task.config.epochs:
        raise ValueError(f"task {task.key}: can only resume a training kept with its Adam state after whole "
                         f"epochs and before config.epochs={task.config.epochs}; it took {r.steps} steps")
    return r.steps


def _train_group(tasks: list[Task], dtype, device, use_c: bool | None = None,
                 keep_state: bool = False) -> list[Trained]:
    """Train same-shaped configurations all at once; see the module docstring.

    A task with ``resume`` continues that training (weights, Adam moments and step count) to its
    ``config.epochs``: as if it had been trained that long in one go.
    """
    grp = _Group(tasks, dtype, device, _steps(dtype, device, use_c))
    G, bs, T, n_in = grp.G, grp.B, grp.T, grp.n_in
    steps_per_epoch = [math.ceil(len(t.X) / bs) for t in tasks]
    done = [_resumed_steps(t, s) for t, s in zip(tasks, steps_per_epoch)]
    total_steps = [s * t.config.epochs - d for s, t, d in zip(steps_per_epoch, tasks, done)]  # still to take
    data, labels = _stacked_data(tasks, dtype, device)
    n_max = data.shape[3]
    pos_w = torch.tensor([pos_weight_of(t.y) for t in tasks], dtype=dtype, device=device)[:, None]
    lr = torch.tensor([t.config.learning_rate for t in tasks], dtype=dtype, device=device)
    theta, grad = grp.theta, grp.grad
    m, v = torch.zeros_like(theta), torch.zeros_like(theta)
    for g, t in enumerate(tasks):
        if t.resume is not None:
            m[g], v[g] = t.resume.adam[0].to(device, dtype), t.resume.adam[1].to(device, dtype)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    head_w, head_b = grp.view(theta, "head.weight"), grp.view(theta, "head.bias")
    idx = torch.arange(bs, device=device)
    xb = torch.empty(T, G, n_in, bs, dtype=dtype, device=device)
    epoch_loss = torch.zeros(G, dtype=torch.float64)
    losses: list[list[float]] = [list(t.resume.train_losses) if t.resume else [] for t in tasks]
    for step in range(max(total_steps)):
        live = [step < s for s in total_steps]
        offs = [(step % spe) * bs if lv else 0 for spe, lv in zip(steps_per_epoch, live)]
        n = torch.tensor([min(bs, len(t.X) - o) if lv else 0 for t, o, lv in zip(tasks, offs, live)],
                         dtype=dtype, device=device)
        rows = (torch.tensor(offs, device=device)[:, None] + idx[None, :]).clamp(max=n_max - 1)
        valid = (idx[None, :] < n[:, None]).to(dtype)
        torch.gather(data, 3, rows[None, :, None, :].expand(T, G, n_in, bs), out=xb)
        h_last = grp.forward(xb)
        logits = torch.bmm(head_w, h_last)[:, 0, :] + head_b
        loss, dlogits = _bce_and_grad(logits, torch.gather(labels, 1, rows), valid, n.clamp(min=1), pos_w)
        torch.bmm(dlogits[:, None, :], h_last.transpose(1, 2), out=grp.view(grad, "head.weight"))
        grp.view(grad, "head.bias").copy_(dlogits.sum(1, keepdim=True))
        grp.backward(xb, head_w.transpose(1, 2) * dlogits[:, None, :])
        # Adam, torch.optim.Adam's formulas, each configuration at its own step count and rate
        k = torch.tensor([d + min(step + 1, s) for d, s in zip(done, total_steps)], dtype=dtype, device=device)
        active = torch.tensor(live)
        grp.steps.adam(theta, grad, m, v, lr / (1 - beta1 ** k), (1 - beta2 ** k).sqrt(), active, beta1, beta2,
                       eps)
        epoch_loss += loss.detach().cpu().double() * active
        for g in range(G):
            if live[g] and (step + 1) % steps_per_epoch[g] == 0:
                losses[g].append(float(epoch_loss[g]) / steps_per_epoch[g])
                epoch_loss[g] = 0.0
    out = []
    for g, t in enumerate(tasks):
        tr = Trained(t, *grp.export(g), losses[g], steps=done[g] + total_steps[g])
        if keep_state:
            tr.adam = (m[g].cpu().clone(), v[g].cpu().clone())
        tr.task = dataclasses.replace(t, resume=None)  # do not chain every earlier rung's weights
        out.append(_scored(tr, dtype))
    return out


def _stacked_data(tasks: list[Task], dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Every task's sequences as one (T, G, I, n_max) tensor and labels (G, n_max), zero-padded."""
    T, n_in, n_max = tasks[0].config.window_size, tasks[0].X.shape[2], max(len(t.X) for t in tasks)
    data = torch.zeros(T, len(tasks), n_in, n_max, dtype=dtype, device=device)
    labels = torch.zeros(len(tasks), n_max, dtype=dtype, device=device)
    for g, t in enumerate(tasks):
        data[:, g, :, : len(t.X)] = torch.as_tensor(t.X, dtype=dtype).permute(1, 2, 0)
        labels[g, : len(t.y)] = torch.as_tensor(t.y, dtype=dtype)
    return data, labels


def _scored(trained: Trained, dtype) -> Trained:
    """Validation probabilities and loss, from the standalone nn.LSTM model with the trained weights."""
    t = trained.task
    if t.X_val is not None and len(t.X_val):
        trained.val_probs = predict_proba(trained, t.X_val, dtype)
        trained.val_loss = bce(trained.val_probs, t.y_val, pos_weight_of(t.y))
    return trained


def _train_group_single_thread(tasks: list[Task], dtype, keep_state: bool = False) -> list[Trained]:
    with single_thread():
        return _train_group(tasks, dtype, "cpu", keep_state=keep_state)


def train_many(tasks: list[Task], dtype=torch.float64, device: str = "cpu", n_jobs: int = 1,
               progress: bool | str = False, keep_state: bool = False) -> list[Trained]:
    """Train every task; results in the tasks' order, validation loss where validation data exists.

    Tasks are grouped by hidden size, window, batch size, layers and inputs. On the CPU each group
    runs on one thread, so results do not depend on the machine's thread count; ``n_jobs`` groups
    run at once in separate processes (same results, more cores used). ``keep_state`` keeps each
    result's Adam moments, so that a task with ``resume=`` that result can continue its training
    exactly (successive halving). ``progress``: True, or the progress bar's label.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, t in enumerate(tasks):
        groups[_shape(t)].append(i)
    work = {key: sum(_work(tasks[i]) for i in idx) for key, idx in groups.items()}
    # most work first, so parallel workers finish together
    order = sorted(groups, key=lambda key: -work[key])
    groups_of_tasks = [[tasks[i] for i in groups[key]] for key in order]
    if device != "cpu":
        trained_groups = (_train_group(g, dtype, device, keep_state=keep_state) for g in groups_of_tasks)
    else:
        _steps(dtype, device)  # builds the C kernels here once, not in each worker
        if n_jobs == 1:
            trained_groups = (_train_group_single_thread(g, dtype, keep_state) for g in groups_of_tasks)
        else:
            from joblib import Parallel, delayed

            trained_groups = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_train_group_single_thread)(g, dtype, keep_state) for g in groups_of_tasks)
    results: list[Trained | None] = [None] * len(tasks)
    label = progress if isinstance(progress, str) else f"training {len(tasks)} LSTM configurations"
    bar = _bar(sum(work.values()), label, bool(progress))
    for key, trained in zip(order, trained_groups):
        for i, tr in zip(groups[key], trained):
            results[i] = tr
        bar.update(work[key])
    bar.close()
    return results


def _work(task: Task) -> float:
    """Rough cost of training a task: multiply-adds of its recurrent products (epochs still to train)."""
    c = task.config
    done = task.resume.steps / math.ceil(len(task.X) / c.batch_size) if task.resume is not None else 0
    return (c.epochs - done) * len(task.X) * c.window_size * c.num_layers * c.hidden_size * (c.hidden_size + task.X.shape[2])


def _bar(total_work: float, label: str, show: bool):
    """A progress bar over training work (groups differ in size, so it counts work, not groups)."""
    from tqdm.std import tqdm

    return tqdm(total=total_work, desc=label, disable=not show,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed} elapsed, {remaining} left")


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
