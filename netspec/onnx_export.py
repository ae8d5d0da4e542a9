"""``netspec build -o model.onnx``: the built module as an ONNX model, checked before it is saved.

torch's exporter (``torch.onnx.export``, ``dynamo=True``: torch's default since 2.9, built on
``torch.export`` as ``.pt2`` files are) writes the model into memory; ``onnx.checker`` checks it
and, where onnxruntime is installed, the model runs on a random batch and must give the torch
module's outputs. Only then does netspec write the file (:func:`netspec.build.save_module`).
The inputs and outputs are named as the spec names them, and the batch size is free.

onnx and onnxscript are the optional extra ``netspec-nn[onnx]``; onnxruntime is optional.

Example::

    data = to_onnx(spec.build(seed=0).eval(), spec, Path("model.onnx"))
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from .errors import NetspecError
from .report import human_bytes
from .summary import BYTES_PER_VALUE

if TYPE_CHECKING:
    from .spec import Spec

#: the batch torch traces with (``torch.export`` would fix a batch of 1 into the model), and
#: another one the saved model runs on, which shows that the batch size stayed free
TRACE_BATCH = 2
CHECK_BATCH = 3

#: An ONNX file is one protobuf message, which protobuf limits to 2 GB.
MAX_ONNX_BYTES = 2**31 - 1

#: How far onnxruntime's outputs may stray from torch's, relative to the largest output value
#: (at least 1): both compute in float32 (a relative rounding error of 6e-8 per operation), in
#: another order and with batchnorm folded into the convolutions, and the errors grow with the
#: length of each sum and the depth. The bundled networks differ by at most 5e-7; a wrong
#: weight, layer or connection differs by the size of the values themselves.
TOLERANCE = 1e-4

#: the hint where ONNX fails
_OTHERS = "save it as .pt2 (torch.export) or .pt (TorchScript)"

#: the loggers of torch's exporter and of onnxscript: notes for torch's developers
_LOGGERS = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")


#: what installs :func:`missing_onnx`'s packages
INSTALL_ONNX = "pip install 'netspec-nn[onnx]'"


def missing_onnx() -> str:
    """Why ONNX cannot be written here ("" if it can): packages of the extra do not import."""
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if not missing:
        return ""
    names = " and ".join(missing)
    return f"writing ONNX needs {names}, which {'is' if len(missing) == 1 else 'are'} not installed"


def to_onnx(model: nn.Module, spec: Spec, output: Path, *, dynamo: bool = True) -> bytes:
    """The bytes of the ONNX model of ``model`` (built from ``spec``, in eval mode), checked.

    ``output`` is where the caller will write them, for messages. ``dynamo=False`` takes
    torch's older, TorchScript-based exporter instead: several times quicker, but torch 2.9
    deprecated it (it warns that it will be removed), so netspec itself never does.
    """
    problem = missing_onnx()
    if problem:
        raise NetspecError.plain(spec.file, problem, INSTALL_ONNX)
    size = (spec.num_params + spec.checked.buffers) * BYTES_PER_VALUE
    if size > MAX_ONNX_BYTES:
        raise NetspecError.plain(
            spec.file,
            f"an ONNX file holds at most 2 GB, and this network's weights take "
            f"{human_bytes(size)}; {output} was not written",
            "save it as .pt2 (torch.export), which has no such limit",
        )
    failure = "torch cannot export this network to ONNX"
    try:
        with _quiet():
            data = _export(model.eval(), spec, dynamo)
        failure = "the ONNX model torch wrote does not load back and run"
        _check(data, model, spec, output)
    except NetspecError:
        raise
    except Exception as e:  # the one boundary: whatever the exporter or onnxruntime raises
        raise NetspecError.plain(
            spec.file, f"{failure} ({_first_line(e)}); {output} was not written", _OTHERS
        ) from e
    return data


def _export(model: nn.Module, spec: Spec, dynamo: bool) -> bytes:
    inputs = tuple(torch.zeros(TRACE_BATCH, *s.dims) for s in spec.input_shapes.values())
    input_names, output_names = list(spec.input_shapes), list(spec.output_shapes)
    if dynamo:
        batch = torch.export.Dim("batch", min=1)
        program = torch.onnx.export(
            model,
            inputs,
            dynamo=True,
            dynamic_shapes=tuple({0: batch} for _ in inputs),
            verbose=False,
            input_names=input_names,
            output_names=output_names,
        )
        assert program is not None  # torch returns the program when dynamo=True
        data: bytes = program.model_proto.SerializeToString()
        return data
    buffer = io.BytesIO()
    torch.onnx.export(
        model,
        inputs,
        buffer,  # type: ignore[arg-type]  # this exporter writes file objects too
        dynamo=False,
        input_names=input_names,
        output_names=output_names,
        dynamic_axes={name: {0: "batch"} for name in [*input_names, *output_names]},
    )
    return buffer.getvalue()


def _check(data: bytes, model: nn.Module, spec: Spec, output: Path) -> None:
    """``onnx.checker``, then (with onnxruntime) the outputs of a random batch against torch's."""
    import onnx

    try:  # the bytes as they are: parsed into a ModelProto, which the checker serialises
        # again, ResNet-50's 100 MB took 0.37 s of CPU to check instead of 0.06 s
        onnx.checker.check_model(data)
    except onnx.checker.ValidationError as e:
        raise NetspecError.plain(
            spec.file,
            f"torch wrote an ONNX model that onnx.checker refuses ({_first_line(e)}); "
            f"{output} was not written",
            _OTHERS,
        ) from e
    try:
        import onnxruntime
    except ImportError:  # optional: the checker alone vouches for the file
        return
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: its notes on unused initialisers are noise
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(0)
    inputs = {
        name: torch.randn(CHECK_BATCH, *shape.dims, generator=generator)
        for name, shape in spec.input_shapes.items()
    }
    with torch.no_grad():
        out = model(*inputs.values())
    expected = out if isinstance(out, dict) else {"output": out}
    got = session.run(None, {name: x.numpy() for name, x in inputs.items()})
    names = [o.name for o in session.get_outputs()]
    if names != list(expected):  # torch's exporter named them
        raise NetspecError.plain(
            spec.file,
            f"torch named the ONNX model's outputs {', '.join(names)} instead of "
            f"{', '.join(expected)}; {output} was not written",
            _OTHERS,
        )
    for name, value in zip(names, got, strict=True):
        want = expected[name].numpy()
        difference = _difference(np.asarray(value), want)
        which = "output" if len(names) == 1 else f'output "{name}"'
        if difference is not None:
            raise NetspecError.plain(
                spec.file,
                f"the ONNX model's {which} differs from the torch module's "
                f"({difference}); {output} was not written",
                _OTHERS,
            )


def _difference(got: Any, want: Any) -> str | None:
    """How ``got`` differs from ``want`` beyond :data:`TOLERANCE`, or None if it does not."""
    if got.shape != want.shape:
        return f"shape {got.shape[1:]} instead of {want.shape[1:]}"
    scale = max(1.0, float(np.nanmax(np.abs(want), initial=0.0)))
    if np.allclose(got, want, rtol=0.0, atol=TOLERANCE * scale, equal_nan=True):
        return None
    return f"by up to {float(np.nanmax(np.abs(got - want))):.3g}, at values up to {scale:.3g}"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep torch's exporter from talking on netspec's output: its progress lines (stdout),
    its warnings (deprecations inside torch, torchvision's operators it skips) and its logs.
    They are notes for torch's developers; a failure still reaches the caller as an error."""
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
