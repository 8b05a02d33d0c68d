// strun: run a step or pipeline from the command line.
#include "stpipe/cli/strun.h"

int main(int argc, char** argv) {
  return stpipe::cli::strun_main(std::vector<std::string>(argv + 1, argv + argc));
}
