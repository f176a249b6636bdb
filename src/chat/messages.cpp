#include "chat/messages.hpp"

#include "protocol/names.hpp"

namespace chat {

bool valid_group(const std::string& group) {
  if (group == chat_servers_group || group == profile_stores_group)
    return true;
  return group.compare(0, room_group_prefix.size(), room_group_prefix) == 0
    && protocol::valid_room(std::string_view{group}.substr(room_group_prefix.size()));
}

bool private_group(const std::string& group) { return protocol::is_dm_room(room_of(group)); }

void add_message_types(caf::actor_system_config& cfg) {
  cluster::add_message_types(cfg);
  cfg.add_message_type<message>("chat_message");
  cfg.add_message_type<std::vector<message>>("chat_message_vec");
  cfg.add_message_type<room_snapshot>("room_snapshot");
  cfg.add_message_type<std::vector<room_snapshot>>("room_snapshot_vec");
  cfg.add_message_type<publish_result>("publish_result");
  cfg.add_message_type<replicate_item>("replicate_item");
  cfg.add_message_type<std::vector<replicate_item>>("replicate_item_vec");
  cfg.add_message_type<room_marks>("room_marks");
  cfg.add_message_type<pull_page>("pull_page");
  cfg.add_message_type<scrollback>("scrollback");
  cfg.add_message_type<read_mark>("read_mark");
  cfg.add_message_type<std::vector<read_mark>>("read_mark_vec");
  cfg.add_message_type<profile>("profile");
  cfg.add_message_type<std::vector<profile>>("profile_vec");
}

} // namespace chat
