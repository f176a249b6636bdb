#pragma once

// What this binary is: the project's version and the commit it was built
// from ("unknown" outside a git checkout, e.g. an image built without
// --build-arg CHAT_COMMIT). Written by cmake/BuildInfo.cmake at build time.

namespace chat {

extern const char* const build_version;
extern const char* const build_commit;

} // namespace chat
