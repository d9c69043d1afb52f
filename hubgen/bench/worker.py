"""One benchmark measurement in a fresh interpreter: time and peak memory of one configuration at one length.

`hubgen.bench.runner` runs this file as a script, `python worker.py JOB_JSON`, and reads the one line it prints
that starts with `RESULT_MARKER`. One process per measurement, because a process's peak RSS only grows: two
configurations measured in one process would mix their figures. The file imports torch, transformers and the
standard library only, and the LSG code it measures is the rendered modeling file named in the job, loaded from
its path as users load it, so the figures are those of the code that ships, whatever the LSG core becomes.

Protocol of a core or model job (`_measure`):
1. one untimed warm-up step at a shorter length on the same code path (the runner's `warmup_length`): loads
   kernels, starts the thread pools, allocates the optimizer state (model level), so none of that is counted;
2. the inputs of the measured length are built, freed memory is handed back to the OS (`gc`, `malloc_trim`) and
   the current RSS is read: the baseline;
3. one step at the length; peak memory = the process's peak RSS after it (`ru_maxrss`) minus the baseline. It
   counts what the step needs beyond what the process held: saved activations, temporaries, outputs, gradients
   (model level: parameter gradients too, freed between steps as `zero_grad()` does) and optimizer temporaries.
   Weights, optimizer state, inputs and libraries are not counted. That step is also the timing warm-up;
4. `repeats` timed steps (`time.perf_counter`); the runner reports the best and the median.
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import json
import os
import resource
import sys
import time
import traceback
import warnings

import torch
import torch.nn.functional as F

RESULT_MARKER = "HUBGEN_BENCH_RESULT "

# Library warnings (BigBird's fallback at short warm-up lengths, Longformer's padding) would only clutter stderr.
warnings.filterwarnings("ignore")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


# --- memory ----------------------------------------------------------------------------------------------------------


def _page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss() -> int | None:
    """Resident set size now, in bytes (Linux); None elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _page_size()
    except OSError:
        return None


def peak_rss() -> int:
    """The process's peak resident set size so far, in bytes (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def release_free_memory() -> None:
    """Return freed heap memory to the OS, so the baseline RSS holds no free memory the step could reuse unseen."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def limit_memory(max_bytes: int) -> None:
    """Cap the address space at its current size plus `max_bytes`, so a configuration too large for the machine
    fails with an allocation error in this process instead of waking the OOM killer for everyone."""
    try:
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + max_bytes
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


# --- what one step is ------------------------------------------------------------------------------------------------


def load_rendered(path: str):
    """Import a rendered `modeling_lsg_<type>.py` from its path, under its own module name."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _config_class(module):
    return next(getattr(module, name) for name in dir(module) if name.startswith("LSG") and name.endswith("Config"))


def core_step_factory(job: dict):
    """`make(length)` -> a forward+backward step of the attention core on fixed random inputs of that length.

    Inputs are drawn from a generator seeded with the job's seed, so every configuration sees the same q, k, v and
    output gradient at a given length. Rows are g + t: the global rows, then the text. q, k, v are laid out as a
    model's attention layer passes them: projections of shape (batch, rows, heads, d) viewed as (batch, heads, rows,
    d), so a core that needs contiguous heads pays for the copy here as it would in a model.
    """
    heads, head_dim, batch = job["heads"], job["head_dim"], job["batch"]
    setting = job.get("setting")
    if job["impl"] == "lsg":
        module = load_rendered(job["module_path"])
        pattern = module.LSGPattern.from_config(_config_class(module)(**setting))
        globals_ = setting["num_global_tokens"]
    else:
        globals_ = job["num_global_tokens"]

    def make(length: int):
        rows = globals_ + length
        generator = torch.Generator().manual_seed(job["seed"])
        leaves = [torch.randn(batch, rows, heads, head_dim, generator=generator).requires_grad_() for _ in range(3)]
        grad = torch.randn(batch, rows, heads, head_dim, generator=generator)
        mask = torch.ones(batch, rows, dtype=torch.bool)

        def step() -> None:
            for leaf in leaves:
                leaf.grad = None
            q, k, v = (leaf.transpose(1, 2) for leaf in leaves)
            if job["impl"] == "lsg":
                result = module.lsg_attention(q, k, v, mask, pattern, 0.0, False)
                out = result[0] if isinstance(result, tuple) else result
                out.backward(grad)
            else:
                F.scaled_dot_product_attention(q, k, v).backward(grad.transpose(1, 2))

        return step

    return make


def build_model(job: dict):
    """A randomly initialised sequence classifier of the job's kind and shape, seeded so every length trains the
    very same weights."""
    import transformers

    shape = job["shape"]
    common = {
        **shape,
        "hidden_act": "gelu",
        "hidden_dropout_prob": job["hidden_dropout"],
        "attention_probs_dropout_prob": job["attention_dropout"],
        "max_position_embeddings": job["max_position_embeddings"],
        "type_vocab_size": 1,
        "layer_norm_eps": 1e-5,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "num_labels": 2,
    }
    torch.manual_seed(job["seed"])
    kind = job["model"]
    if kind == "lsg":
        module = load_rendered(job["module_path"])
        config = module.LSGRobertaConfig(**common, **job["setting"])
        return module.LSGRobertaForSequenceClassification(config)
    if kind == "sdpa":
        config = transformers.RobertaConfig(**common, attn_implementation="sdpa")
        return transformers.RobertaForSequenceClassification(config)
    if kind == "longformer":
        config = transformers.LongformerConfig(**common, attention_window=job["longformer_window"])
        return transformers.LongformerForSequenceClassification(config)
    if kind == "bigbird":
        config = transformers.BigBirdConfig(
            **common,
            attention_type="block_sparse",
            block_size=job["bigbird_block_size"],
            num_random_blocks=job["bigbird_random_blocks"],
        )
        return transformers.BigBirdForSequenceClassification(config)
    raise ValueError(f"unknown model {kind!r}")


def model_step_factory(job: dict):
    """`make(length)` -> one training step (forward, backward, AdamW step) on fixed random token ids."""
    model = build_model(job).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    vocab = job["shape"]["vocab_size"]

    def make(length: int):
        generator = torch.Generator().manual_seed(job["seed"])
        ids = torch.randint(3, vocab, (job["batch"], length), generator=generator)
        ids[:, 0] = 0  # the <s> token, as a tokenizer would put it
        mask = torch.ones_like(ids)
        labels = torch.ones(job["batch"], dtype=torch.long)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
            optimizer.step()

        return step

    return make


# --- the measurements ------------------------------------------------------------------------------------------------


def _measure(make, length: int, warmup_length: int, repeats: int, max_memory_bytes: int) -> dict:
    """Warm up, then peak memory of one step over the baseline, then `repeats` timed steps (see the module doc)."""
    warm = make(warmup_length)
    warm()
    del warm
    step = make(length)
    limit_memory(max_memory_bytes)
    release_free_memory()
    baseline, high_before = current_rss(), peak_rss()
    if baseline is None:  # no /proc: the peak so far is the best baseline there is
        baseline = high_before
    started = time.perf_counter()
    step()
    first = time.perf_counter() - started
    peak = peak_rss()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return {
        "status": "ok",
        "times": times,
        "first_step_s": first,
        "peak_bytes": peak - baseline,
        "baseline_rss_bytes": baseline,
        # False: the step's peak stayed under the warm-up's, so peak_bytes is an upper bound, not the figure.
        "peak_above_warmup": peak > high_before,
        "warmup_length": warmup_length,
    }


def measure_gemm(job: dict) -> dict:
    """fp32 matmul throughput of square matrices of the job's size: best and median of `repeats` products."""
    size = job["size"]
    generator = torch.Generator().manual_seed(job["seed"])
    a, b = (torch.randn(size, size, generator=generator) for _ in range(2))
    for _ in range(2):
        torch.mm(a, b)
    rates = []
    for _ in range(job["repeats"]):
        started = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * size**3 / (time.perf_counter() - started) / 1e9)
    rates.sort()
    return {"status": "ok", "gflops_best": rates[-1], "gflops_median": rates[len(rates) // 2], "size": size}


def run_job(job: dict) -> dict:
    """The result of one job; failures (out of memory included) are results too, never a crash."""
    try:
        if job["kind"] == "gemm":
            result = measure_gemm(job)
        else:
            factory = core_step_factory if job["kind"] == "core" else model_step_factory
            make = factory(job)
            result = _measure(make, job["length"], job["warmup_length"], job["repeats"], job["max_memory_bytes"])
    except (MemoryError, RuntimeError) as error:
        if isinstance(error, MemoryError) or "alloc" in str(error).lower():
            limit = job.get("max_memory_bytes", 0) / 2**30
            return {"status": "failed", "reason": f"out of memory (cap {limit:.1f} GiB over the baseline)"}
        return {"status": "failed", "reason": _last_line(error)}
    except Exception as error:  # noqa: BLE001 - any failure is reported as the measurement's result
        return {"status": "failed", "reason": _last_line(error)}
    result["torch_threads"] = torch.get_num_threads()
    return result


def _last_line(error: BaseException) -> str:
    return traceback.format_exception_only(type(error), error)[-1].strip()


def main() -> None:
    job = json.loads(sys.argv[1])
    print(RESULT_MARKER + json.dumps(run_job(job)), flush=True)


if __name__ == "__main__":
    main()
