// stpipe: list, describe, config dump, info, convert, crds, simulate.
#include "stpipe/cli/strun.h"

int main(int argc, char** argv) {
  return stpipe::cli::stpipe_main(std::vector<std::string>(argv + 1, argv + argc));
}
