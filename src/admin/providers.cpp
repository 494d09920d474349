#include <spdlog/spdlog.h>

#include "routes.hpp"
#include "switchyard/admin/catalogue.hpp"
#include "switchyard/core/crypto.hpp"
#include "switchyard/core/ids.hpp"
#include "switchyard/store/sql_text.hpp"

namespace switchyard::admin {
namespace {

using nlohmann::json;

std::string provider_select() {
  return "SELECT p.id, p.name, p.type, p.base_url, p.credentials, p.settings::text, p.enabled, " +
         postgres::rfc3339_sql("p.created_at") + ", " + postgres::rfc3339_sql("p.updated_at") +
         ", (SELECT count(*) FROM models m WHERE m.provider_id = p.id) FROM providers p";
}

/// A provider row's ciphertext as Postgres' bytea text; nullopt (NULL) when there is none.
std::optional<std::string> bytea_text(const std::optional<std::string>& raw) {
  return raw ? std::optional("\\x" + crypto::hex(*raw)) : std::nullopt;
}

std::optional<std::string> ciphertext(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return pqxx::binarystring(field).str();
}

/// The secret fields a ciphertext holds; nullopt when it does not decrypt under this master key.
std::optional<json> decrypt(const crypto::MasterKey& key, const std::string& sealed,
                            const std::string& name) {
  auto plain = key.decrypt(sealed, credentials_context(name));
  if (!plain) return std::nullopt;
  auto parsed = json::parse(*plain, nullptr, false);
  if (!parsed.is_object()) return std::nullopt;
  return parsed;
}

/// A provider as admins read it: never a secret, only which secret fields there are and a masked suffix.
json provider_json(const pqxx::row& row, const crypto::MasterKey& key) {
  auto name = row[1].as<std::string>();
  auto sealed = ciphertext(row[4]);
  auto fields = json::array();
  json hint = nullptr;
  if (sealed) {
    if (auto credentials = decrypt(key, *sealed, name)) {
      for (const auto& [field, value] : credentials->items()) fields.push_back(field);
      if (auto masked = credentials_hint(*credentials)) hint = *masked;
    }
  }
  return {{"id", row[0].as<std::string>()},
          {"object", "provider"},
          {"name", name},
          {"type", row[2].as<std::string>()},
          {"base_url", row[3].as<std::string>()},
          {"settings", json_column(row[5])},
          {"enabled", row[6].as<bool>()},
          {"has_credentials", sealed.has_value()},
          {"credential_fields", std::move(fields)},
          {"credentials_hint", std::move(hint)},
          {"models", row[9].as<std::int64_t>()},
          {"created_at", row[7].as<std::string>()},
          {"updated_at", row[8].as<std::string>()}};
}

std::optional<pqxx::row> find_provider(pqxx::work& tx, const std::string& id, bool lock) {
  if (!is_uuid(id)) return std::nullopt;
  auto rows = tx.exec_params(provider_select() + " WHERE p.id = $1" + (lock ? " FOR UPDATE OF p" : ""), id);
  if (rows.empty()) return std::nullopt;
  return rows[0];
}

json load_provider(pqxx::work& tx, const AdminCall& call, const std::string& id) {
  auto row = find_provider(tx, id, false);
  if (!row) throw no_such("provider");
  return provider_json(*row, call.parts.master_key);
}

ApiError name_taken(const std::string& name) {
  return conflict("provider_exists", "A provider named \"" + name + "\" already exists.", "name");
}

/// The credentials to store after `in`, sealed under the provider's (possibly new) name.
std::optional<std::string> next_credentials(const AdminCall& call, const ProviderInput& in,
                                            const std::optional<std::string>& sealed,
                                            const std::string& old_name, const std::string& new_name) {
  const auto& key = call.parts.master_key;
  std::optional<json> current;
  if (sealed) current = decrypt(key, *sealed, old_name);
  if (!in.changes_credentials()) {
    if (!sealed || old_name == new_name) return sealed;
    if (!current) {
      // Unreadable already (the master key changed): moving it changes nothing, a new secret will fix it.
      spdlog::warn("admin: the credentials of provider {} do not decrypt; kept as they were", old_name);
      return sealed;
    }
  }
  json next = in.clear_credentials || !current ? json::object() : *current;
  next.merge_patch(in.credentials_patch);
  if (next.empty()) return std::nullopt;
  return key.encrypt(next.dump(), credentials_context(new_name));
}

Answer list_providers(pqxx::work& tx, const AdminCall& call) {
  auto data = json::array();
  for (const auto& row : tx.exec(provider_select() + " ORDER BY p.name")) {
    data.push_back(provider_json(row, call.parts.master_key));
  }
  return {200, {{"object", "list"}, {"data", std::move(data)}}};
}

Answer get_provider(pqxx::work& tx, const AdminCall& call) {
  return {200, load_provider(tx, call, call.param("id"))};
}

Answer create_provider(pqxx::work& tx, const AdminCall& call) {
  auto in = parse_provider_input(parse_object(call.context.request.body), Mode::create);
  std::optional<std::string> sealed;
  if (in.changes_credentials()) {
    sealed = call.parts.master_key.encrypt(in.credentials_patch.dump(), credentials_context(*in.name));
  }
  std::string id;
  try {
    id = tx.exec_params(
               "INSERT INTO providers (name, type, base_url, credentials, settings, enabled) "
               "VALUES ($1, $2, $3, $4::bytea, $5::jsonb, $6) RETURNING id",
               *in.name, *in.type, in.base_url.value_or(""), bytea_text(sealed),
               in.settings.value_or(json::object()).dump(), in.enabled.value_or(true))[0][0]
             .as<std::string>();
  } catch (const pqxx::unique_violation&) {
    throw name_taken(*in.name);
  }
  return call.changed(
      tx, {"provider.create", "provider", id, std::nullopt, nullptr, load_provider(tx, call, id)}, 201);
}

Answer update_provider(pqxx::work& tx, const AdminCall& call) {
  auto in = parse_provider_input(parse_object(call.context.request.body), Mode::update);
  const auto& id = call.param("id");
  auto row = find_provider(tx, id, true);
  if (!row) throw no_such("provider");
  auto before = provider_json(*row, call.parts.master_key);
  auto old_name = (*row)[1].as<std::string>();
  auto name = in.name.value_or(old_name);
  auto type = in.type.value_or((*row)[2].as<std::string>());
  auto settings = json_column((*row)[5]);
  if (in.settings) settings.merge_patch(*in.settings);
  check_provider_settings(type, settings);
  auto sealed = next_credentials(call, in, ciphertext((*row)[4]), old_name, name);
  try {
    tx.exec_params(
        "UPDATE providers SET name = $2, type = $3, base_url = $4, credentials = $5::bytea, "
        "settings = $6::jsonb, enabled = $7, updated_at = now() WHERE id = $1",
        id, name, type, in.base_url.value_or((*row)[3].as<std::string>()), bytea_text(sealed),
        settings.dump(), in.enabled.value_or((*row)[6].as<bool>()));
  } catch (const pqxx::unique_violation&) {
    throw name_taken(name);
  }
  return call.changed(tx,
                      {"provider.update", "provider", id, std::nullopt, before, load_provider(tx, call, id)});
}

Answer delete_provider(pqxx::work& tx, const AdminCall& call) {
  const auto& id = call.param("id");
  auto row = find_provider(tx, id, true);
  if (!row) throw no_such("provider");
  auto before = provider_json(*row, call.parts.master_key);
  auto serving = tx.exec_params("SELECT alias FROM models WHERE provider_id = $1 ORDER BY alias", id);
  if (!serving.empty()) {
    std::string aliases;
    for (const auto& model : serving) aliases += (aliases.empty() ? "" : ", ") + model[0].as<std::string>();
    throw conflict("provider_in_use",
                   "Provider \"" + before["name"].get<std::string>() + "\" still serves " +
                       std::to_string(serving.size()) + " model(s) (" + aliases +
                       "): delete them or move them to another provider first, or disable the provider.");
  }
  try {
    tx.exec_params("DELETE FROM providers WHERE id = $1", id);
  } catch (const pqxx::foreign_key_violation&) {
    // A model created for it since the check above: the schema's RESTRICT keeps it.
    throw conflict("provider_in_use",
                   "Provider \"" + before["name"].get<std::string>() +
                       "\" now serves a model: delete or move it first, or disable the provider.");
  }
  return call.changed(tx, {"provider.delete", "provider", id, std::nullopt, before, nullptr});
}

}  // namespace

void add_provider_routes(http::Router& router, const AdminParts& parts) {
  add_collection(
      router, parts,
      {"/admin/providers", list_providers, create_provider, get_provider, update_provider, delete_provider});
}

}  // namespace switchyard::admin
