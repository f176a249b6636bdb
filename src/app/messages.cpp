#include "app/messages.hpp"

namespace chat {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<message>("chat_message");
  cfg.add_message_type<std::vector<message>>("chat_message_vec");
  cfg.add_message_type<cluster::member>("pg_member");
  cfg.add_message_type<std::vector<cluster::member>>("pg_member_vec");
  cfg.add_message_type<cluster::group_map>("pg_group_map");
  cfg.add_message_type<cluster::change>("pg_change");
  cfg.add_message_type<cluster::changes>("pg_change_vec");
  cfg.add_message_type<room_snapshot>("room_snapshot");
  cfg.add_message_type<std::vector<room_snapshot>>("room_snapshot_vec");
  cfg.add_message_type<publish_result>("publish_result");
  cfg.add_message_type<replicate_item>("replicate_item");
  cfg.add_message_type<std::vector<replicate_item>>("replicate_item_vec");
  cfg.add_message_type<std::vector<caf::node_id>>("node_id_vec");
  cfg.add_message_type<room_marks>("room_marks");
  cfg.add_message_type<pull_page>("pull_page");
  cfg.add_message_type<scrollback>("scrollback");
}

} // namespace chat
