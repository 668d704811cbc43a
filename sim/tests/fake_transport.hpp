// A Transport that records every webhook attempt and answers with scripted statuses.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "webhook_queue.hpp"

namespace simtest {

struct FakeTransport : sim::Transport {
  struct Sent {
    std::string url;
    sim::HeaderMap headers;
    std::string body;
  };
  std::vector<Sent> sent;
  std::deque<int> script;  // statuses to answer, then default_status
  int default_status = 200;
  void post(const std::string& url, const sim::HeaderMap& headers, const std::string& body, double,
            std::function<void(int, std::string)> done) override {
    sent.push_back({url, headers, body});
    int st = default_status;
    if (!script.empty()) {
      st = script.front();
      script.pop_front();
    }
    done(st, "");
  }
};

}  // namespace simtest
