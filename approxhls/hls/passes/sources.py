"""Defects of hls4ml 1.3.0's written sources, repaired in every project approxhls writes (a writer step).

Each repair is one literal replacement in one file hls4ml copies into the project, applied only where the defective
text is present, and recorded in the project's ``repairs`` and convert.log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from approxhls.hls.passes.base import ApproxhlsModelPass

SOURCE_REPAIRS_ATTR = "approxhls_source_repairs"


@dataclass(frozen=True)
class SourceRepair:
    path: str
    old: str
    new: str
    why: str


SOURCE_REPAIRS = (
    SourceRepair("build_lib.sh",
                 'WEIGHTS_DIR="\\"${BASEDIR}/firmware/weights\\""',
                 "# approxhls: the directory as a C string of octal escapes: no character of its name can end the string\n"
                 "WEIGHTS_DIR=\"\\\"$(printf '%s/firmware/weights' \"${BASEDIR}\" | od -An -v -to1 | tr -d ' \\n' "
                 "| sed 's/\\([0-7][0-7][0-7]\\)/\\\\\\1/g')\\\"\"",
                 "build_lib.sh put the project's directory into a C string macro unescaped: a directory name with a "
                 "quote broke the build, and one with '\"+...+\"' ran C++ of its choosing"),
    SourceRepair("firmware/nnet_utils/nnet_sepconv1d_latency.h",
                 "#ifndef NNET_SEPARABLE_CONV2D_LATENCY_H_\n#define NNET_SEPARABLE_CONV2D_LATENCY_H_",
                 "#ifndef NNET_SEPARABLE_CONV1D_LATENCY_H_\n#define NNET_SEPARABLE_CONV1D_LATENCY_H_",
                 "nnet_sepconv1d_latency.h reuses nnet_sepconv2d_latency.h's include guard, so a model with 1D and "
                 "2D depthwise convolutions does not compile under io_parallel"),
    SourceRepair("firmware/nnet_utils/nnet_recurrent.h",
                 "    nnet::dense<data_T, res_T, typename CONFIG_T::mult_config1>(data, tmpres, param, param_b);\n"
                 "    nnet::dense<data_T, res_T, typename CONFIG_T::mult_config2>(h_newstate, tmpres_state, param_r, "
                 "param_br);",
                 "    nnet::dense<data_T, typename CONFIG_T::accum_t, typename CONFIG_T::mult_config1>(data, tmpres, "
                 "param, param_b);\n"
                 "    nnet::dense<res_T, typename CONFIG_T::accum_t, typename CONFIG_T::mult_config2>(h_newstate, "
                 "tmpres_state, param_r, param_br);",
                 "nnet_recurrent.h's non-static LSTM (compiled beside the static one every project uses) passes its "
                 "accumulator arrays as the result type, so an LSTM whose input, result and accumulator types differ "
                 "did not compile; it now calls its dense kernels with the types the static LSTM uses"),
)


def repair_sources(project: Path) -> list[str]:
    """Repair the written project; returns what was repaired."""
    done = []
    for r in SOURCE_REPAIRS:
        p = Path(project) / r.path
        if p.is_file() and r.old in (text := p.read_text()):
            p.write_text(text.replace(r.old, r.new))
            done.append(f"{r.path}: {r.why}")
    return done


class RepairSources(ApproxhlsModelPass):
    def run(self, model, settings):
        done = repair_sources(Path(model.config.get_output_dir()))
        setattr(model, SOURCE_REPAIRS_ATTR, sorted(set(getattr(model, SOURCE_REPAIRS_ATTR, [])) | set(done)))
        return False
