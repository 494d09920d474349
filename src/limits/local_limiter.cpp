#include "switchyard/limits/local_limiter.hpp"

namespace switchyard::limits {

namespace {

std::string name_of(const Scope& scope) { return (scope.kind == ScopeKind::key ? "k:" : "t:") + scope.id; }

std::chrono::milliseconds until(LocalLimiter::Clock::time_point then, LocalLimiter::Clock::time_point now) {
  return std::chrono::ceil<std::chrono::milliseconds>(then - now);
}

}  // namespace

LocalLimiter::Window& LocalLimiter::window_of(const Scope& scope) { return windows_[name_of(scope)]; }

void LocalLimiter::drop_if_idle(const Scope& scope) {
  auto found = windows_.find(name_of(scope));
  if (found != windows_.end() && found->second.admitted.empty() && found->second.in_flight == 0) {
    windows_.erase(found);
  }
}

LocalLimiter::Outcome LocalLimiter::admit(const Scope& key, const Scope& tenant, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Outcome outcome;
  const Scope* scopes[] = {&key, &tenant};
  Window* windows[] = {nullptr, nullptr};
  for (int i = 0; i < 2; ++i) {
    const auto& limits = scopes[i]->limits;
    if (!limits.rpm && !limits.parallel) continue;
    auto& window = window_of(*scopes[i]);
    while (!window.admitted.empty() && window.admitted.front() <= now - kRateWindow) {
      window.admitted.pop_front();
    }
    windows[i] = &window;
  }
  for (int i = 0; i < 2 && !outcome.refusal; ++i) {
    if (windows[i] == nullptr) continue;
    const auto& limits = scopes[i]->limits;
    const auto& window = *windows[i];
    if (limits.parallel && window.in_flight >= *limits.parallel) {
      outcome.refusal =
          Refusal{LimitKind::parallel, scopes[i]->kind, *limits.parallel, std::chrono::seconds(1)};
    } else if (limits.rpm && static_cast<std::int64_t>(window.admitted.size()) >= *limits.rpm) {
      auto index = window.admitted.size() - static_cast<std::size_t>(std::max<std::int64_t>(*limits.rpm, 1));
      auto frees_at = window.admitted.empty() ? now : window.admitted[index] + kRateWindow;
      outcome.refusal = Refusal{LimitKind::rpm, scopes[i]->kind, *limits.rpm, until(frees_at, now)};
    }
  }
  for (int i = 0; i < 2; ++i) {
    if (windows[i] == nullptr) continue;
    auto& window = *windows[i];
    if (!outcome.refusal) {
      if (scopes[i]->limits.rpm) window.admitted.push_back(now);
      if (scopes[i]->limits.parallel) ++window.in_flight;
    }
    if (auto rpm = scopes[i]->limits.rpm) {
      auto reset = window.admitted.empty() ? std::chrono::milliseconds(0)
                                           : until(window.admitted.back() + kRateWindow, now);
      (i == 0 ? outcome.key : outcome.tenant).requests =
          WindowUsage{*rpm, static_cast<std::int64_t>(window.admitted.size()), reset};
    }
  }
  if (outcome.refusal) {
    drop_if_idle(key);
    drop_if_idle(tenant);
  }
  return outcome;
}

void LocalLimiter::release(const Scope& key, const Scope& tenant) {
  std::lock_guard lock(mutex_);
  for (const Scope* scope : {&key, &tenant}) {
    auto found = windows_.find(name_of(*scope));
    if (found == windows_.end()) continue;
    if (found->second.in_flight > 0) --found->second.in_flight;
    drop_if_idle(*scope);
  }
}

std::size_t LocalLimiter::tracked_scopes() const {
  std::lock_guard lock(mutex_);
  return windows_.size();
}

}  // namespace switchyard::limits
