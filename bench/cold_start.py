"""Cold start of each Lambda function: its init time in a fresh process, and its bundle's size.

Run from the project root: `.venv/bin/python -m bench.cold_start` (or `make bench-cold-start`).

The app of cdk.json is synthesized with `python app.py` into `--cdk-out` (default cdk.out, where `make synth`
writes: warm when the sources did not change). For each function of the template, its bundle is what Lambda
unpacks: the code asset and its layers, read from the cloud assembly; the size is the sum of the unzipped files.

Init is the import of the function's handler module (imports and module-level setup: Powertools' Logger, Metrics
and Tracer, the X-Ray recorder and its patching), timed inside a fresh interpreter laid out as Lambda lays it
out: sys.path holds the code asset, the layer's `python/` and the packages the runtime provides (boto3 and its
dependencies, taken from this virtualenv) and nothing else (`python -S`); the environment is the function's
from the template (intrinsic values replaced by placeholders: nothing reads them at import) plus what Lambda
sets (LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, the X-Ray daemon address: active tracing on), with tracing on
as deployed. Two ways, `--runs` processes each; every round takes each function and way in turn, so that
bursts of load from other processes spread over all of them:
- with bytecode: a copy of the bundle compiled beforehand, as the runtime's own packages are, and as Python
  runs anywhere a module was imported before. The 400 ms target is checked here.
- as shipped: the bundle as synthesized, without bytecode (the layer is installed with --no-compile: this
  machine's Python is not the runtime's, so its .pyc files would be ignored; with the runtime's Python on PATH
  the layer ships its bytecode, see stacks/constructs/lambda_assets.py), imported with -B. Lambda's file
  system is read-only, so this is what a cold start on Lambda does: compile every module of the bundle from
  source. Reported, and noted when over 400 ms: shipping bytecode would need the runtime's Python to bundle.
The target is checked on the median CPU time of the import: the machine is shared, and while other processes
run, wall time also counts the wait for a core (on an idle machine wall and CPU time agree within a few
percent). The wall time's median and minimum are printed next to it. Times are those of this machine's
Python (3.11), not the runtime's (3.14).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bench.process import PROJECT_ROOT, timed_run
from bench.report import machine_line, median, table, verdict

INIT_LIMIT_MS = 400.0
BUNDLE_LIMIT_MB = 15.0
MB = 1_000_000  # decimal megabytes: the stricter reading of "15 MB"
# Imports the handler and reports how long that took and where the packages that matter were found.
_PROBE = """
import importlib, json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
origins = {name: getattr(sys.modules.get(name), "__file__", None) for name in sys.argv[2:]}
print(json.dumps({"wall": wall, "cpu": cpu, "modules": len(sys.modules), "origins": origins}))
"""
_ORIGIN_CHECKS = {"lambdas": "code", "aws_lambda_powertools": "layer", "boto3": "runtime"}


@dataclass(frozen=True)
class Function:
    """A function of the template, with the directories Lambda would unpack for it."""

    logical_id: str
    handler: str
    code: Path
    layers: tuple[Path, ...]
    environment: dict[str, str]
    memory_mb: int

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def step(self) -> str:
        return self.module.split(".")[1] if self.module.startswith("lambdas.") else self.module

    def bundle_bytes(self) -> int:
        return tree_size(self.code) + sum(tree_size(layer) for layer in self.layers)


@dataclass(frozen=True)
class Layout:
    """Where a function's code and layers are unpacked."""

    code: Path
    layers: tuple[Path, ...]


@dataclass(frozen=True)
class Init:
    walls_ms: list[float]
    cpus_ms: list[float]
    modules: int

    @property
    def wall_ms(self) -> float:
        return median(self.walls_ms)

    @property
    def cpu_ms(self) -> float:
        return median(self.cpus_ms)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9, help="fresh processes per function and way (default 9)")
    parser.add_argument("--cdk-out", type=Path, default=PROJECT_ROOT / "cdk.out", help="the cloud assembly's directory")
    args = parser.parse_args(argv)

    print(f"Lambda cold start, {machine_line()}", flush=True)
    seconds = synthesize(args.cdk_out)
    print(f"synthesized into {args.cdk_out} with `python app.py` in {seconds:.1f} s", flush=True)
    functions = list(read_functions(args.cdk_out))
    rows, checks, notes = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as workdir:
        runtime = runtime_packages(Path(workdir) / "runtime")
        compiled = compiled_copies(functions, Path(workdir) / "compiled")
        ways: dict[str, Callable[[Function], Layout]] = {
            "bytecode": lambda f: Layout(compiled[f.code], tuple(compiled[layer] for layer in f.layers)),
            "shipped": lambda f: Layout(f.code, f.layers),
        }
        inits = measure_inits(functions, ways, runtime, args.runs)
        for function in functions:
            bytecode, shipped = inits[(function.logical_id, "bytecode")], inits[(function.logical_id, "shipped")]
            size_mb = function.bundle_bytes() / MB
            rows.append(
                [
                    function.step,
                    f"{tree_size(function.code) / 1000:.0f} KB",
                    f"{sum(tree_size(layer) for layer in function.layers) / MB:.1f} MB",
                    f"{size_mb:.1f} MB",
                    f"{bytecode.cpu_ms:.0f}",
                    f"{bytecode.wall_ms:.0f} ({min(bytecode.walls_ms):.0f})",
                    f"{shipped.cpu_ms:.0f}",
                    f"{shipped.wall_ms:.0f} ({min(shipped.walls_ms):.0f})",
                ]
            )
            checks.append((f"{function.step}: bundle {size_mb:.1f} MB <= {BUNDLE_LIMIT_MB:.0f} MB", size_mb <= 15))
            checks.append(
                (
                    f"{function.step}: init {bytecode.cpu_ms:.0f} ms CPU <= {INIT_LIMIT_MS:.0f} ms",
                    bytecode.cpu_ms <= INIT_LIMIT_MS,
                )
            )
            if shipped.cpu_ms > INIT_LIMIT_MS:
                notes.append(f"{function.step}: as shipped {shipped.cpu_ms:.0f} ms CPU, over {INIT_LIMIT_MS:.0f} ms")
    print()
    print(f"init: import of the handler module in a fresh process, median of {args.runs} (wall: median (min)), ms;")
    print("bytecode: the bundle compiled beforehand; as shipped: compiled from source at each start, as on Lambda.")
    print("bundle: code asset + layer, sum of the unzipped files (MB = 10^6 bytes)")
    headers = ["function", "code", "layer", "bundle", "CPU", "wall", "CPU as shipped", "wall as shipped"]
    print(table(headers, rows))
    print(f"(after the runs: {machine_line()})")
    print()
    for description, holds in checks:
        print(f"  {verdict(holds):<6} {description}")
    for note in notes:
        print(f"  note   {note} (the target is checked on the bytecode figure; see the module's docstring)")
    return 0 if all(holds for _, holds in checks) else 1


def synthesize(outdir: Path) -> float:
    """`python app.py` into `outdir`; return its wall time. Raise RuntimeError when it fails."""
    seconds, _ = timed_run(
        [sys.executable, "app.py"], what="python app.py", env={**os.environ, "CDK_OUTDIR": str(outdir)}
    )
    return seconds


def read_functions(outdir: Path) -> Iterator[Function]:
    """Every Lambda function of every stack in the cloud assembly, with its asset directories."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        template = json.loads((outdir / artifact["properties"]["templateFile"]).read_text())
        yield from functions_of(template, outdir)


def functions_of(template: Mapping[str, Any], outdir: Path) -> Iterator[Function]:
    """The template's functions; raise ValueError for a function whose code is not a file asset here."""
    resources: Mapping[str, Any] = template["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        layers = []
        for layer in props.get("Layers", []):
            layer_resource = resources[layer["Ref"]]
            layers.append(asset_directory(outdir, layer_resource["Properties"]["Content"]["S3Key"]))
        variables = props.get("Environment", {}).get("Variables", {})
        yield Function(
            logical_id=logical_id,
            handler=props["Handler"],
            code=asset_directory(outdir, props["Code"]["S3Key"]),
            layers=tuple(layers),
            environment={
                name: value if isinstance(value, str) else f"bench-{name.lower()}" for name, value in variables.items()
            },
            memory_mb=int(props.get("MemorySize", 128)),
        )


def asset_directory(outdir: Path, s3_key: Any) -> Path:
    """The staged directory of a zip asset: `<hash>.zip` is staged as `asset.<hash>`."""
    if not isinstance(s3_key, str) or not s3_key.endswith(".zip"):
        raise ValueError(f"not a file asset of this assembly: {s3_key!r}")
    directory = outdir / f"asset.{s3_key.removesuffix('.zip')}"
    if not directory.is_dir():
        raise ValueError(f"asset {s3_key} is not staged in {outdir}")
    return directory


def tree_size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def runtime_packages(target: Path) -> Path:
    """What the Lambda runtime provides besides the standard library: boto3 and its dependencies, compiled.

    Copied from this virtualenv (with its bytecode), so nothing else installed here can be imported.
    """
    from stacks.constructs.lambda_assets import RUNTIME_PROVIDED_DISTRIBUTIONS

    target.mkdir(parents=True)
    for module in top_level_modules(RUNTIME_PROVIDED_DISTRIBUTIONS):
        spec = find_spec(module)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{module} is not installed in this virtualenv")
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, target / module)
        else:
            shutil.copy2(origin, target / origin.name)
    compileall.compile_dir(str(target), quiet=1, workers=0)
    return target


def top_level_modules(distributions: frozenset[str]) -> list[str]:
    """The importable top-level names of the given distributions (as normalized names: `python-dateutil`)."""
    modules = [
        module
        for module, owners in metadata.packages_distributions().items()
        if any(owner.lower().replace("_", "-") in distributions for owner in owners) and module.isidentifier()
    ]
    return sorted(modules)


def compiled_copies(functions: Sequence[Function], target: Path) -> dict[Path, Path]:
    """A compiled copy of every code asset and layer, by original directory."""
    copies: dict[Path, Path] = {}
    for directory in {path for function in functions for path in (function.code, *function.layers)}:
        copy = target / directory.name
        shutil.copytree(directory, copy)
        compileall.compile_dir(str(copy), quiet=1, workers=0)
        copies[directory] = copy
    return copies


def lambda_environment(function: Function, code: Path, runtime: Path) -> dict[str, str]:
    """The function's environment plus what Lambda sets, with tracing active as deployed."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(code),
        "LAMBDA_RUNTIME_DIR": str(runtime),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "AWS_LAMBDA_FUNCTION_NAME": f"bench-{function.step}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "_HANDLER": function.handler,
        **function.environment,
    }


def measure_inits(
    functions: Sequence[Function], ways: Mapping[str, Callable[[Function], Layout]], runtime: Path, runs: int
) -> dict[tuple[str, str], Init]:
    """Import each handler module in fresh interpreters laid out like Lambda, `runs` times each way, by logical id
    and way. Every round takes each function and way in turn, so that a burst of load from other processes
    spreads over all of them instead of spoiling one; raise RuntimeError when an import fails."""
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(runs):
        for function in functions:
            for way, layout in ways.items():
                samples.setdefault((function.logical_id, way), []).append(
                    init_once(function, layout(function), runtime)
                )
    return {
        key: Init(
            walls_ms=[sample["wall"] * 1000 for sample in taken],
            cpus_ms=[sample["cpu"] * 1000 for sample in taken],
            modules=taken[-1]["modules"],
        )
        for key, taken in samples.items()
    }


def init_once(function: Function, layout: Layout, runtime: Path) -> dict[str, Any]:
    """One fresh interpreter importing the handler: its wall and CPU seconds and how many modules it loaded."""
    path = os.pathsep.join([str(layout.code), *(str(layer / "python") for layer in layout.layers), str(runtime)])
    child = subprocess.run(
        [sys.executable, "-S", "-B", "-c", _PROBE, function.module, *_ORIGIN_CHECKS],
        cwd=layout.code,
        env={**lambda_environment(function, layout.code, runtime), "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise RuntimeError(f"{function.module} failed to import:\n{child.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    layer = layout.layers[0] / "python" if layout.layers else layout.code
    check_origins(report["origins"], {"code": layout.code, "layer": layer, "runtime": runtime})
    return report


def check_origins(origins: Mapping[str, str | None], roots: Mapping[str, Path]) -> None:
    """Raise RuntimeError unless each package came from where Lambda would load it (not from this virtualenv)."""
    for module, where in _ORIGIN_CHECKS.items():
        origin = origins.get(module)
        if origin is None or not Path(origin).resolve().is_relative_to(roots[where].resolve()):
            raise RuntimeError(f"{module} was imported from {origin}, not from the {where} ({roots[where]})")


if __name__ == "__main__":
    sys.exit(main())
