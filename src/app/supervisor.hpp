#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "app/restart_intensity.hpp"
#include "base/node_stats.hpp"

namespace chat {

/// A permanent child: started at boot, restarted whenever it ends.
struct child_spec {
  caf::atom_value name; ///< also its registry name
  std::function<caf::actor(caf::local_actor*)> start;
};

struct supervisor_state {
  std::vector<child_spec> specs;
  std::vector<caf::actor> running; ///< by spec index
  std::optional<restart_intensity> intensity;
  std::shared_ptr<node_stats> stats;
  bool stopping = false;
  static inline const char* name = "supervisor";
};

/// One-for-one supervisor: a child that dies is restarted alone, under the
/// same registry name. Past the restart intensity it gives up and exits with
/// an error, which stops the node (Kubernetes then restarts the pod).
caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, std::vector<child_spec> specs,
                         restart_intensity intensity, std::shared_ptr<node_stats> stats);

} // namespace chat
