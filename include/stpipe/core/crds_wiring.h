// Wires the CRDS client into steps: reference files and pars-<class> parameter references.
#pragma once

namespace stpipe {

/// Installs the reference resolver and the pars provider backed by a process-wide CRDS client
/// configured from CRDS_PATH / CRDS_SERVER_URL / CRDS_CONTEXT / CRDS_OBSERVATORY. The client is
/// (re)created on first use after this call, from the environment at that time.
void install_crds();

}  // namespace stpipe
