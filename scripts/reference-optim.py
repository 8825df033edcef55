# Reference values for tests/train/optim.test.ts (python3 scripts/reference-optim.py; torch CPU).
import torch, math
torch.set_default_dtype(torch.float64)
# AdamW: 2 params, 3 steps, fixed grads, lr 0.1, wd 0.01, clip scale 1
p1 = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
p2 = torch.tensor([[0.1, 0.2], [-0.3, 0.4]], requires_grad=True)
opt = torch.optim.AdamW([p1, p2], lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
grads = [
  ([0.3, -0.2, 0.1], [[1.0, -1.0], [0.5, 0.0]]),
  ([-0.1, 0.4, 0.05], [[0.2, 0.3], [-0.5, 1.5]]),
  ([0.2, 0.2, -0.3], [[-0.4, 0.1], [0.0, -0.2]]),
]
lrs = [0.1, 0.05, 0.02]
for (g1, g2), lr in zip(grads, lrs):
    for grp in opt.param_groups: grp['lr'] = lr
    p1.grad = torch.tensor(g1); p2.grad = torch.tensor(g2)
    opt.step()
print('adamw p1', [float(x) for x in p1.detach()])
print('adamw p2', [float(x) for x in p2.detach().flatten()])
st = opt.state[p1]
print('adamw m1', [float(x) for x in st['exp_avg']], 'v1', [float(x) for x in st['exp_avg_sq']])
# schedule: warmup 3, total 12, lr 1e-3, min ratio 0.1
w=torch.nn.Parameter(torch.zeros(1))
o=torch.optim.SGD([w], lr=1e-3)
total, warm = 12, 3
s1 = torch.optim.lr_scheduler.LinearLR(o, start_factor=1/warm, end_factor=1.0, total_iters=warm-1)
s2 = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total-warm-1, eta_min=1e-4)
sch = torch.optim.lr_scheduler.SequentialLR(o, [s1, s2], milestones=[warm])
out=[]
for step in range(total):
    out.append(o.param_groups[0]['lr']); o.step(); sch.step()
print('sched', out)
# mulberry32 + Fisher-Yates as in the sampler, reimplemented
def mulberry32(seed):
    a = seed & 0xffffffff
    def imul(x, y): return ((x & 0xffffffff) * (y & 0xffffffff)) & 0xffffffff
    def r():
        nonlocal a
        a = (a + 0x6d2b79f5) & 0xffffffff
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xffffffff
        return ((t ^ (t >> 14)) & 0xffffffff) / 4294967296
    return r
def perm(n, seed, epoch):
    p=list(range(n)); rng=mulberry32((seed*1000003 + epoch*7919) & 0xffffffff)
    for i in range(n-1,0,-1):
        j=math.floor(rng()*(i+1)); p[i],p[j]=p[j],p[i]
    return p
r=mulberry32(42); print('mulberry32(42)', [r() for _ in range(3)])
print('perm n7 seed3 e0', perm(7,3,0), 'e1', perm(7,3,1))
