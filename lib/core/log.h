// Logging through the host's callback: LiveGate itself never prints.
#pragma once

#include <fmt/format.h>

#include <string>

#include "livegate/common.h"

namespace lg::core {

class Logger {
 public:
  Logger() = default;
  Logger(lg_log_fn fn, void *user, lg_log_level level) : fn_(fn), user_(user), level_(level) {}

  bool enabled(lg_log_level level) const { return fn_ != nullptr && level <= level_; }

  template <typename... Args>
  void log(lg_log_level level, fmt::format_string<Args...> format, Args &&...args) const {
    if (!enabled(level)) return;
    std::string message = fmt::format(format, std::forward<Args>(args)...);
    fn_(user_, level, message.c_str());
  }
  template <typename... Args>
  void error(fmt::format_string<Args...> f, Args &&...a) const {
    log(LG_LOG_ERROR, f, std::forward<Args>(a)...);
  }
  template <typename... Args>
  void warn(fmt::format_string<Args...> f, Args &&...a) const {
    log(LG_LOG_WARN, f, std::forward<Args>(a)...);
  }
  template <typename... Args>
  void info(fmt::format_string<Args...> f, Args &&...a) const {
    log(LG_LOG_INFO, f, std::forward<Args>(a)...);
  }
  template <typename... Args>
  void debug(fmt::format_string<Args...> f, Args &&...a) const {
    log(LG_LOG_DEBUG, f, std::forward<Args>(a)...);
  }

 private:
  lg_log_fn fn_ = nullptr;
  void *user_ = nullptr;
  lg_log_level level_ = LG_LOG_INFO;
};

}  // namespace lg::core
