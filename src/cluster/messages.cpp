#include "cluster/messages.hpp"

namespace chat::cluster {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<member>("pg_member");
  cfg.add_message_type<std::vector<member>>("pg_member_vec");
  cfg.add_message_type<group_map>("pg_group_map");
  cfg.add_message_type<change>("pg_change");
  cfg.add_message_type<changes>("pg_change_vec");
  cfg.add_message_type<std::vector<caf::node_id>>("node_id_vec");
}

} // namespace chat::cluster
