#pragma once

// A frame sink for unit tests: records every frame sent to it, the closes
// and the frames marked done, from any thread.

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "chat/frame_sink.hpp"

namespace chat::test {

class recording_sink final : public chat::frame_sink {
public:
  void send(chat::protocol::frame_ptr frame) override {
    std::lock_guard<std::mutex> guard{mtx_};
    frames_.push_back(*frame);
  }
  void close(std::uint16_t code, std::string reason) override {
    std::lock_guard<std::mutex> guard{mtx_};
    closes_.emplace_back(code, std::move(reason));
  }
  void frame_done() override { ++done_; }
  std::size_t done() const { return done_; }
  std::vector<std::string> frames() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return frames_;
  }
  std::size_t count() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return frames_.size();
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> frames_;
  std::vector<std::pair<std::uint16_t, std::string>> closes_;
  std::atomic<std::size_t> done_{0};
};

} // namespace chat::test
