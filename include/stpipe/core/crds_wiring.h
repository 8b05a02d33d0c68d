// Wires the CRDS client into steps: reference files and pars-<class> parameter references.
#pragma once

namespace stpipe {

/// Installs the reference resolver and the pars provider backed by a process-wide CRDS client
/// configured from CRDS_PATH / CRDS_SERVER_URL / CRDS_CONTEXT / CRDS_OBSERVATORY. The client is
/// created on first use.
void install_crds();

}  // namespace stpipe
