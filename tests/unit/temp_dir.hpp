#pragma once

// A fresh directory for one test case, removed when it ends: the on-disk
// store's tests run on a real disk.

#include <filesystem>
#include <string>

#include <unistd.h>

struct temp_dir {
  std::filesystem::path path;
  explicit temp_dir(const std::string& tag = "store") {
    static int n = 0;
    path = std::filesystem::temp_directory_path()
      / ("chatd-unit-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};
