"""Ten million users (3163 x 3163) for a year: build and run in CPU seconds and wall seconds, and peak memory.

A long job (about 12 CPU minutes), so it reports every 30 days. CPU seconds
(``time.process_time``) are what to compare with issue 10's targets on a
shared machine; run it under ``nice`` beside other work.

    python benchmarks/ten_million.py [DAYS]      # default 365
"""
import os, resource, time, sys
os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # one core
from sim.model.market import MarketModel
w = MarketModel(seed=1, width=5, height=5, steps=2)
while w.running: w.step()
days = int(sys.argv[1]) if len(sys.argv) > 1 else 365
print("start load", os.getloadavg(), flush=True)
c0, t0 = time.process_time(), time.perf_counter()
m = MarketModel(seed=42, width=3163, height=3163, steps=days)
c1, t1 = time.process_time(), time.perf_counter()
print(f"build: cpu {c1-c0:.1f} s, wall {t1-t0:.1f} s, rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB", flush=True)
d = 0
while m.running:
    m.step(); d += 1
    if d % 30 == 0:
        print(f"day {d}: cpu {time.process_time()-c1:.1f} s, wall {time.perf_counter()-t1:.1f} s, load {os.getloadavg()[0]:.2f}", flush=True)
c2, t2 = time.process_time(), time.perf_counter()
n = m.n_users
print(f"run {days} days: cpu {c2-c1:.1f} s ({n*days/(c2-c1)/1e6:.2f} M user-days per cpu s), wall {t2-t1:.1f} s; "
      f"peak rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024**2:.2f} GiB; end load {os.getloadavg()}", flush=True)
