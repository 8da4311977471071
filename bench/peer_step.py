"""The reference Bloop step of bench/step.ts in PyTorch, as a yardstick for scalpel (issue #15).

MLP 784-1024-1024-10 (Glorot-uniform weights, zero biases), batch 256 of random images and labels,
main = softmax cross-entropy, aux = 0.5 * 1e-4 * ||theta||^2 over every parameter, two autograd
passes, flat EMA of the main gradient (rho = 0.01), projection of the auxiliary gradient, lambda = 0.1,
SGD with learning rate 0.01: the same arithmetic as scalpel's session step.

Protocol (driven by bench/peer.ts): `python3 peer_step.py THREADS` fixes the thread count for the
whole process (torch.set_num_threads once, before any work: switching it between steps made the
timings swing 4x). Then one command per line on stdin: `step` runs one step and prints its wall
time in milliseconds; `gemm M K N TA TB REPS` times REPS products op(A)·op(B) (op(A) M×K, op(B) K×N;
TA/TB = 1 for an operand stored transposed, as a transposed view) and prints the median in
milliseconds; `info` prints the torch version, the thread count and the BLAS configuration.
EOF ends it.
"""
import sys
import time

import torch

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 1
torch.set_num_threads(THREADS)

WIDTHS = (784, 1024, 1024, 10)
BATCH, EXAMPLES = 256, 2048
LAMBDA, RHO, LR, PRIOR = 0.1, 0.01, 0.01, 1e-4

torch.manual_seed(5)
params = []
for fan_in, fan_out in zip(WIDTHS[:-1], WIDTHS[1:]):
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    params.append(torch.empty(fan_in, fan_out).uniform_(-limit, limit).requires_grad_())
    params.append(torch.zeros(fan_out, requires_grad=True))
x_all = torch.rand(EXAMPLES, WIDTHS[0])
y_all = torch.randint(0, WIDTHS[-1], (EXAMPLES,))
generator = torch.Generator().manual_seed(3)
ema = None


def forward(x):
    h = x
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = torch.relu(h)
    return h


def step():
    global ema
    idx = torch.randint(0, EXAMPLES, (BATCH,), generator=generator)
    main = torch.nn.functional.cross_entropy(forward(x_all[idx]), y_all[idx])
    g_main = torch.cat([g.reshape(-1) for g in torch.autograd.grad(main, params)])
    aux = 0.5 * PRIOR * sum((p * p).sum() for p in params)
    g_aux = torch.cat([g.reshape(-1) for g in torch.autograd.grad(aux, params)])
    with torch.no_grad():
        reference = g_main if ema is None else ema
        coefficient = torch.dot(g_aux, reference) / (torch.dot(reference, reference) + 1e-30)
        direction = g_main + LAMBDA * (g_aux - coefficient * reference)
        offset = 0
        for p in params:
            p.sub_(LR * direction[offset:offset + p.numel()].view_as(p))
            offset += p.numel()
        ema = g_main.clone() if ema is None else ema.mul_(1 - RHO).add_(g_main, alpha=RHO)
    return main.item()


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    if words[0] == "info":
        capability = [l.strip(" -") for l in torch.__config__.show().splitlines() if "capability" in l]
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); " + "; ".join(capability), flush=True)
    elif words[0] == "gemm":
        m, k, n, ta, tb, reps = (int(w) for w in words[1:7])
        a = torch.randn(k, m).t() if ta else torch.randn(m, k)
        b = torch.randn(n, k).t() if tb else torch.randn(k, n)
        times = []
        with torch.no_grad():
            a @ b
            for _ in range(max(1, reps)):
                start = time.perf_counter()
                a @ b
                times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"{times[len(times) // 2]:.4f}", flush=True)
    elif words[0] == "step":
        start = time.perf_counter()
        step()
        print(f"{(time.perf_counter() - start) * 1000:.3f}", flush=True)
