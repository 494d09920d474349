#include <boost/url/parse.hpp>
#include <charconv>

#include "switchyard/http/upstream_client.hpp"

namespace switchyard::http {

std::optional<UpstreamUrl> UpstreamUrl::parse(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return std::nullopt;
  const auto& url = *parsed;
  UpstreamUrl result;
  if (iequals(url.scheme(), "https")) {
    result.tls = true;
  } else if (!iequals(url.scheme(), "http")) {
    return std::nullopt;
  }
  // Credentials in a URL would end up in logs and error messages: providers take them as headers.
  if (!url.has_authority() || url.has_userinfo()) return std::nullopt;
  switch (url.host_type()) {
    case boost::urls::host_type::name:
      if (url.encoded_host().find('%') != std::string_view::npos) return std::nullopt;
      result.host = url.host();
      break;
    case boost::urls::host_type::ipv4:
      result.host = url.host_address();
      break;
    case boost::urls::host_type::ipv6:
      result.host = url.host_address();
      break;
    default:
      return std::nullopt;
  }
  if (result.host.empty()) return std::nullopt;
  if (url.has_port()) {
    auto port = url.port();
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      return std::nullopt;
    }
    result.port = static_cast<std::uint16_t>(value);
  } else {
    result.port = result.tls ? 443 : 80;
  }
  result.target = std::string(url.encoded_path());
  if (result.target.empty()) result.target = "/";
  if (url.has_query()) result.target += "?" + std::string(url.encoded_query());
  return result;
}

std::string UpstreamUrl::host_header() const {
  bool ipv6 = host.find(':') != std::string::npos;
  std::string value = ipv6 ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) value += ":" + std::to_string(port);
  return value;
}

}  // namespace switchyard::http
