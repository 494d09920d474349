#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

#include "switchyard/core/crypto.hpp"
#include "switchyard/providers/mock.hpp"
#include "switchyard/providers/upstream_errors.hpp"

namespace switchyard::providers {
namespace {

namespace asio = boost::asio;

std::int64_t count_words(std::string_view text) {
  std::int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

/// The text of a message's `content`: a string, or the text parts of an array.
std::string content_text(const nlohmann::json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string()) {
        text += part["text"].get<std::string>() + " ";
      }
    }
  }
  return text;
}

/// All the prompt's text, and the part the answer echoes.
std::pair<std::string, std::string> prompt_of(Operation operation, const nlohmann::json& body) {
  std::string all;
  std::string last;
  if (operation == Operation::chat) {
    for (const auto& message : body.value("messages", nlohmann::json::array())) {
      if (!message.is_object()) continue;
      auto text = content_text(message.value("content", nlohmann::json()));
      all += text + " ";
      if (message.value("role", "") == "user") last = text;
    }
  } else {
    const auto& prompt = body.contains("prompt") ? body["prompt"] : body.value("input", nlohmann::json());
    if (prompt.is_string()) {
      all = last = prompt.get<std::string>();
    } else if (prompt.is_array()) {
      for (const auto& item : prompt) {
        if (item.is_string()) all += item.get<std::string>() + " ";
      }
      last = all;
    }
  }
  return {all, last};
}

std::int64_t marker_value(std::string_view text, std::string_view marker) {
  auto at = text.find(marker);
  if (at == std::string_view::npos) return -1;
  std::int64_t value = 0;
  for (auto i = at + marker.size(); i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]));
       ++i) {
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

std::chrono::milliseconds setting_ms(const nlohmann::json& settings, const char* name) {
  auto found = settings.find(name);
  return std::chrono::milliseconds(found != settings.end() && found->is_number() ? found->get<std::int64_t>()
                                                                                 : 0);
}

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  if (duration.count() <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

std::string new_id(std::string_view prefix) {
  return std::string(prefix) + crypto::hex(crypto::random_bytes(12));
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json usage_json(std::int64_t prompt, std::int64_t completion) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", 0}}},
          {"completion_tokens_details", {{"reasoning_tokens", 0}}}};
}

std::string join(const std::vector<std::string>& pieces) {
  std::string text;
  for (const auto& piece : pieces) text += piece;
  return text;
}

/// Streams the answer chunk by chunk, as OpenAI does: role first, one chunk per token, the finish
/// reason, then usage when asked.
class MockChunkStream final : public ChunkStream {
 public:
  MockChunkStream(Operation operation, MockAnswer answer, std::string model, int choices, bool include_usage,
                  std::int64_t break_after, std::chrono::milliseconds delay, std::string provider)
      : operation_(operation),
        answer_(std::move(answer)),
        model_(std::move(model)),
        choices_(choices),
        include_usage_(include_usage),
        break_after_(break_after),
        delay_(delay),
        provider_(std::move(provider)),
        id_(new_id(operation == Operation::chat ? "chatcmpl-" : "cmpl-")),
        created_(now_seconds()) {}

  asio::awaitable<std::optional<std::string>> next() override {
    auto steps = static_cast<std::int64_t>(answer_.pieces.size());
    // Step -1 is the role chunk (chat only), 0..steps-1 content, steps the finish chunk, steps+1 usage.
    if (step_ == -1 && operation_ != Operation::chat) step_ = 0;
    if (step_ > steps + (include_usage_ ? 1 : 0)) co_return std::nullopt;
    if (step_ >= 0 && step_ <= steps) co_await pause(delay_);
    if (break_after_ >= 0 && step_ >= break_after_ && step_ < steps) {
      throw upstream_failure(provider_,
                             "mock: stream broken off after " + std::to_string(break_after_) + " chunks");
    }
    auto step = step_++;
    if (step == steps + 1) {
      co_return chunk(nlohmann::json::array(), usage_json(answer_.prompt_tokens, steps * choices_)).dump();
    }
    nlohmann::json choices = nlohmann::json::array();
    for (int index = 0; index < choices_; ++index) {
      if (operation_ == Operation::chat) {
        nlohmann::json delta = nlohmann::json::object();
        if (step == -1) delta = {{"role", "assistant"}, {"content", ""}};
        if (step >= 0 && step < steps) delta = {{"content", answer_.pieces[static_cast<std::size_t>(step)]}};
        choices.push_back(
            {{"index", index},
             {"delta", delta},
             {"logprobs", nullptr},
             {"finish_reason", step == steps ? nlohmann::json(answer_.finish_reason) : nullptr}});
      } else {
        choices.push_back(
            {{"index", index},
             {"text", step < steps ? answer_.pieces[static_cast<std::size_t>(step)] : ""},
             {"logprobs", nullptr},
             {"finish_reason", step == steps ? nlohmann::json(answer_.finish_reason) : nullptr}});
      }
    }
    co_return chunk(std::move(choices), nullptr).dump();
  }

 private:
  nlohmann::json chunk(nlohmann::json choices, nlohmann::json usage) const {
    nlohmann::json out = {
        {"id", id_},
        {"object", operation_ == Operation::chat ? "chat.completion.chunk" : "text_completion"},
        {"created", created_},
        {"model", model_},
        {"system_fingerprint", "fp_mock"},
        {"choices", std::move(choices)}};
    if (include_usage_) out["usage"] = std::move(usage);
    return out;
  }

  Operation operation_;
  MockAnswer answer_;
  std::string model_;
  int choices_;
  bool include_usage_;
  std::int64_t break_after_;
  std::chrono::milliseconds delay_;
  std::string provider_;
  std::string id_;
  std::int64_t created_;
  std::int64_t step_ = -1;
};

std::string embeddings_body(const nlohmann::json& body, const std::string& model,
                            std::size_t default_dimensions) {
  std::vector<std::string> inputs;
  const auto& input = body["input"];
  if (input.is_string()) {
    inputs.push_back(input.get<std::string>());
  } else {
    for (const auto& item : input) inputs.push_back(item.is_string() ? item.get<std::string>() : item.dump());
  }
  auto dimensions = body.contains("dimensions") && body["dimensions"].is_number_integer()
                        ? body["dimensions"].get<std::size_t>()
                        : default_dimensions;
  bool base64 = body.value("encoding_format", "float") == "base64";
  nlohmann::json data = nlohmann::json::array();
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    tokens += std::max<std::int64_t>(1, count_words(inputs[i]));
    auto vector = mock_embedding(inputs[i], dimensions);
    nlohmann::json embedding;
    if (base64) {
      std::string bytes(vector.size() * sizeof(float), '\0');
      std::memcpy(bytes.data(), vector.data(), bytes.size());
      embedding = crypto::base64_encode(bytes);
    } else {
      embedding = vector;
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  nlohmann::json out = {{"object", "list"},
                        {"data", std::move(data)},
                        {"model", model},
                        {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  return out.dump();
}

}  // namespace

MockAnswer mock_answer(Operation operation, const nlohmann::json& body) {
  auto [all, last] = prompt_of(operation, body);
  MockAnswer answer;
  answer.prompt_tokens = std::max<std::int64_t>(1, count_words(all));
  std::istringstream words("Mock answer: " + last);
  std::string word;
  std::int64_t limit = body.value("max_completion_tokens", body.value("max_tokens", std::int64_t{0}));
  while (words >> word) {
    if (limit > 0 && static_cast<std::int64_t>(answer.pieces.size()) >= limit) {
      answer.finish_reason = "length";
      break;
    }
    answer.pieces.push_back(answer.pieces.empty() ? word : " " + word);
  }
  return answer;
}

std::vector<float> mock_embedding(std::string_view text, std::size_t dimensions) {
  auto digest = crypto::sha256(text);
  std::uint64_t state = 0;
  for (std::size_t i = 0; i < 8; ++i) state = (state << 8) | static_cast<unsigned char>(digest[i]);
  std::vector<float> vector(dimensions);
  double norm = 0;
  for (auto& value : vector) {
    state ^= state << 13;  // xorshift64: cheap and deterministic
    state ^= state >> 7;
    state ^= state << 17;
    value = static_cast<float>(static_cast<double>(state % 2000001) / 1000000.0 - 1.0);
    norm += static_cast<double>(value) * static_cast<double>(value);
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (auto& value : vector) value = static_cast<float>(static_cast<double>(value) / norm);
  }
  return vector;
}

asio::awaitable<Reply> MockProvider::send(Operation operation, const auth::ModelInfo& model,
                                          nlohmann::json body, const CallContext&) {
  const auto& settings = model.provider->settings;
  auto [all, last] = prompt_of(operation, body);
  auto latency = setting_ms(settings, "latency_ms");
  co_await pause(latency);
  if (auto status = marker_value(all, "mock:status="); status >= 400) {
    nlohmann::json error = {{"error",
                             {{"message", "mock: injected status " + std::to_string(status)},
                              {"type", "invalid_request_error"},
                              {"param", nullptr},
                              {"code", nullptr}}}};
    std::optional<std::string_view> retry_after;
    if (status == 429) retry_after = "1";
    throw upstream_status_error(static_cast<int>(status), error.dump(), retry_after, {});
  }
  if (operation == Operation::embeddings) {
    auto dimensions = settings.value("embedding_dimensions", std::size_t{256});
    co_return Reply{embeddings_body(body, model.upstream_model, dimensions), nullptr};
  }

  auto answer = mock_answer(operation, body);
  int choices = std::max(1, body.value("n", 1));
  if (body.value("stream", false)) {
    bool include_usage = body.contains("stream_options") && body["stream_options"].is_object() &&
                         body["stream_options"].value("include_usage", false);
    co_return Reply{
        {},
        std::make_unique<MockChunkStream>(operation, std::move(answer), model.upstream_model, choices,
                                          include_usage, marker_value(all, "mock:break_after="),
                                          setting_ms(settings, "chunk_delay_ms"), model.provider->name)};
  }

  auto text = join(answer.pieces);
  auto completion_tokens = static_cast<std::int64_t>(answer.pieces.size()) * choices;
  nlohmann::json out_choices = nlohmann::json::array();
  for (int index = 0; index < choices; ++index) {
    if (operation == Operation::chat) {
      out_choices.push_back({{"index", index},
                             {"message", {{"role", "assistant"}, {"content", text}, {"refusal", nullptr}}},
                             {"logprobs", nullptr},
                             {"finish_reason", answer.finish_reason}});
    } else {
      out_choices.push_back(
          {{"index", index}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", answer.finish_reason}});
    }
  }
  nlohmann::json out = {{"id", new_id(operation == Operation::chat ? "chatcmpl-" : "cmpl-")},
                        {"object", operation == Operation::chat ? "chat.completion" : "text_completion"},
                        {"created", now_seconds()},
                        {"model", model.upstream_model},
                        {"system_fingerprint", "fp_mock"},
                        {"choices", std::move(out_choices)},
                        {"usage", usage_json(answer.prompt_tokens, completion_tokens)}};
  co_return Reply{out.dump(), nullptr};
}

}  // namespace switchyard::providers
