#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>

#include "cli.hpp"
#include "switchyard/store/migrations.hpp"
#include "switchyard/store/postgres_pool.hpp"

namespace switchyard::app {

std::optional<std::string> VerbArguments::option(const std::string& name) const {
  auto found = options.find(name);
  return found == options.end() ? std::nullopt : std::optional<std::string>(found->second);
}

VerbArguments split_arguments(const std::vector<std::string>& arguments, const std::set<std::string>& valued,
                              const std::set<std::string>& flags) {
  VerbArguments split;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const auto& argument = arguments[i];
    if (argument.rfind("--", 0) != 0) {
      split.positional.push_back(argument);
      continue;
    }
    auto equals = argument.find('=');
    auto name = argument.substr(0, equals);
    if (flags.contains(name) && equals == std::string::npos) {
      split.flags.insert(name);
    } else if (!valued.contains(name)) {
      throw UsageError("unknown option " + name);
    } else if (equals != std::string::npos) {
      split.options[name] = argument.substr(equals + 1);
    } else if (i + 1 < arguments.size()) {
      split.options[name] = arguments[++i];
    } else {
      throw UsageError(name + " needs a value");
    }
  }
  return split;
}

std::int64_t count_argument(const std::string& text, const std::string& what) {
  std::int64_t value = -1;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    throw UsageError(what + " must be a whole number >= 0, not \"" + text + "\"");
  }
  return value;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

pqxx::connection open_database(const Config& config) {
  auto url = postgres::connection_string(config.database.url, config.database.connect_timeout);
  if (postgres::current_version(url) < postgres::bundled_migrations().back().version) {
    throw std::runtime_error("the database schema is not current: run `switchyard migrate` first");
  }
  return pqxx::connection(url);
}

TenantRef find_tenant(pqxx::work& tx, const std::string& id_or_name) {
  // An id wins over a tenant whose name happens to be another tenant's id.
  auto rows = tx.exec_params(
      "SELECT id, name FROM tenants WHERE id::text = lower($1) OR name = $1 ORDER BY id::text = lower($1) "
      "DESC",
      id_or_name);
  if (rows.empty()) throw std::runtime_error("no tenant has the id or name \"" + id_or_name + "\"");
  return {rows[0][0].as<std::string>(), rows[0][1].as<std::string>()};
}

pqxx::result rows_of_tenant(const Config& config, const std::string& tenant, const char* query) {
  auto connection = open_database(config);
  pqxx::work tx(connection);
  return tx.exec_params(query, find_tenant(tx, tenant).id);
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
}

}  // namespace switchyard::app
