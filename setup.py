"""Builds rnnkit's optional compiled step kernels (src/rnnkit/ops/_kernels.c); the rest of the
package is pure Python (pyproject.toml). The kernels are built with OpenMP where the compiler
has it, without where not, and left out where nothing compiles: rnnkit then runs its NumPy
loops, with the same results to rounding (see src/rnnkit/ops/kernels.py)."""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalKernels(build_ext):
    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        base = ["/O2", "/fp:precise"] if msvc else ["-O3", "-fno-trapping-math", "-ffp-contract=off"]
        # GCC gives up vectorising a loop that would need more than 10 runtime alias checks (the
        # LSTM step reads and writes 8 rows): raised, the step runs 3.7x faster. Other compilers
        # may not know the option, so each attempt is also made without it.
        gcc_alias = ["--param", "vect-max-version-for-alias-checks=200"]
        attempts = ([(["/openmp"], []), ([], [])] if msvc else
                    [(gcc_alias + ["-fopenmp"], ["-fopenmp"]), (["-fopenmp"], ["-fopenmp"]), (gcc_alias, []), ([], [])])
        failure = None
        for compile_flags, link_flags in attempts:
            ext.extra_compile_args = base + compile_flags
            ext.extra_link_args = link_flags
            try:
                return super().build_extension(ext)
            except Exception as error:  # a compiler without OpenMP, or none at all
                failure = error
        self.warn(f"rnnkit's compiled kernels were not built ({failure}); its NumPy loops will run instead.")


setup(ext_modules=[Extension("rnnkit.ops._kernels", ["src/rnnkit/ops/_kernels.c"],
                             depends=["src/rnnkit/ops/_kernels_body.h"], optional=True)],
      cmdclass={"build_ext": OptionalKernels})
