#include "routes.hpp"
#include "switchyard/admin/catalogue.hpp"
#include "switchyard/core/ids.hpp"
#include "switchyard/core/money.hpp"
#include "switchyard/store/sql_text.hpp"

namespace switchyard::admin {
namespace {

using identity::Access;
using nlohmann::json;

std::string model_select() {
  return "SELECT m.id, m.alias, p.name, m.upstream_model, to_json(m.capabilities)::text, m.enabled, "
         "m.input_micros_per_mtok, m.output_micros_per_mtok, m.cached_input_micros_per_mtok, "
         "m.settings::text, " +
         postgres::rfc3339_sql("m.created_at") + ", " + postgres::rfc3339_sql("m.updated_at") +
         " FROM models m JOIN providers p ON p.id = m.provider_id";
}

/// A price in both forms: USD per million tokens, and the integer micro-dollars it is held as.
void add_price(json& model, const std::string& stem, const pqxx::field& micros) {
  if (micros.is_null()) {
    model[stem + "_usd_per_mtok"] = nullptr;
    model[stem + "_micros_per_mtok"] = nullptr;
    return;
  }
  model[stem + "_usd_per_mtok"] = usd_number(micros.as<Micros>());
  model[stem + "_micros_per_mtok"] = micros.as<Micros>();
}

json model_json(const pqxx::row& row) {
  json model = {{"id", row[0].as<std::string>()},
                {"object", "model"},
                {"alias", row[1].as<std::string>()},
                {"provider", row[2].as<std::string>()},
                {"upstream_model", row[3].as<std::string>()},
                {"capabilities", json::parse(row[4].as<std::string>())},
                {"enabled", row[5].as<bool>()},
                {"settings", json_column(row[9])},
                {"created_at", row[10].as<std::string>()},
                {"updated_at", row[11].as<std::string>()}};
  add_price(model, "input", row[6]);
  add_price(model, "output", row[7]);
  add_price(model, "cached_input", row[8]);
  return model;
}

std::optional<pqxx::row> find_model(pqxx::work& tx, const std::string& id, bool lock) {
  if (!is_uuid(id)) return std::nullopt;
  auto rows = tx.exec_params(model_select() + " WHERE m.id = $1" + (lock ? " FOR UPDATE OF m" : ""), id);
  if (rows.empty()) return std::nullopt;
  return rows[0];
}

json load_model(pqxx::work& tx, const std::string& id) {
  auto row = find_model(tx, id, false);
  if (!row) throw no_such("model");
  return model_json(*row);
}

std::string provider_id(pqxx::work& tx, const std::string& name) {
  auto rows = tx.exec_params("SELECT id FROM providers WHERE name = $1", name);
  if (rows.empty()) {
    throw ApiError::invalid_request(
        "Unknown provider \"" + name + "\": create it first (POST /admin/providers).", "provider");
  }
  return rows[0][0].as<std::string>();
}

ApiError alias_taken(const std::string& alias) {
  return conflict("model_exists", "A model with the alias \"" + alias + "\" already exists.", "alias");
}

/// The columns a model row is written with, in the order of the statements below ($2 onwards).
struct ModelRow {
  std::string alias;
  std::string provider_id;
  std::string upstream_model;
  std::vector<std::string> capabilities;
  bool enabled = true;
  Micros input = 0;
  Micros output = 0;
  std::optional<Micros> cached_input;
  json settings = json::object();
};

/// Writes `row` with `statement`, whose $1 is `key`; a clashing alias is a 409.
pqxx::result write_model(pqxx::work& tx, const char* statement, const std::optional<std::string>& key,
                         const ModelRow& row) {
  try {
    return tx.exec_params(statement, key, row.alias, row.provider_id, row.upstream_model,
                          postgres::text_array(row.capabilities), row.enabled, row.input, row.output,
                          row.cached_input, row.settings.dump());
  } catch (const pqxx::unique_violation&) {
    throw alias_taken(row.alias);
  }
}

Answer list_models(pqxx::work& tx, const AdminCall&) {
  auto data = json::array();
  for (const auto& row : tx.exec(model_select() + " ORDER BY m.alias")) data.push_back(model_json(row));
  return {200, {{"object", "list"}, {"data", std::move(data)}}};
}

Answer get_model(pqxx::work& tx, const AdminCall& call) { return {200, load_model(tx, call.param("id"))}; }

Answer create_model(pqxx::work& tx, const AdminCall& call) {
  auto in = parse_model_input(parse_object(call.context.request.body), Mode::create);
  ModelRow row{*in.alias,
               provider_id(tx, *in.provider),
               in.upstream_model.value_or(*in.alias),
               in.capabilities.value_or(std::vector<std::string>{"chat"}),
               in.enabled.value_or(true),
               in.input_micros_per_mtok.value_or(0),
               in.output_micros_per_mtok.value_or(0),
               in.cached_input_micros_per_mtok.value_or(std::nullopt),
               in.settings.value_or(json::object())};
  // $1 is the id: a fresh one, so that insert and update share one parameter list.
  auto id =
      write_model(tx,
                  "INSERT INTO models (id, alias, provider_id, upstream_model, capabilities, enabled, "
                  "input_micros_per_mtok, output_micros_per_mtok, cached_input_micros_per_mtok, settings) "
                  "VALUES (COALESCE($1::uuid, gen_random_uuid()), $2, $3, $4, $5::text[], $6, $7, $8, $9, "
                  "$10::jsonb) RETURNING id",
                  std::nullopt, row)[0][0]
          .as<std::string>();
  return call.changed(tx, {"model.create", "model", id, std::nullopt, nullptr, load_model(tx, id)}, 201);
}

Answer update_model(pqxx::work& tx, const AdminCall& call) {
  auto in = parse_model_input(parse_object(call.context.request.body), Mode::update);
  const auto& id = call.param("id");
  auto stored = find_model(tx, id, true);
  if (!stored) throw no_such("model");
  auto before = model_json(*stored);
  auto settings = before["settings"];
  if (in.settings) settings.merge_patch(*in.settings);
  ModelRow row{in.alias.value_or(before["alias"]),
               provider_id(tx, in.provider.value_or(before["provider"])),
               in.upstream_model.value_or(before["upstream_model"]),
               in.capabilities.value_or(before["capabilities"].get<std::vector<std::string>>()),
               in.enabled.value_or(before["enabled"].get<bool>()),
               in.input_micros_per_mtok.value_or((*stored)[6].as<Micros>()),
               in.output_micros_per_mtok.value_or((*stored)[7].as<Micros>()),
               in.cached_input_micros_per_mtok.value_or(
                   (*stored)[8].is_null() ? std::nullopt : std::optional((*stored)[8].as<Micros>())),
               settings};
  write_model(
      tx,
      "UPDATE models SET alias = $2, provider_id = $3, upstream_model = $4, capabilities = $5::text[], "
      "enabled = $6, input_micros_per_mtok = $7, output_micros_per_mtok = $8, "
      "cached_input_micros_per_mtok = $9, settings = $10::jsonb, updated_at = now() WHERE id = $1",
      id, row);
  return call.changed(tx, {"model.update", "model", id, std::nullopt, before, load_model(tx, id)});
}

Answer delete_model(pqxx::work& tx, const AdminCall& call) {
  const auto& id = call.param("id");
  auto stored = find_model(tx, id, true);
  if (!stored) throw no_such("model");
  auto before = model_json(*stored);
  // Grants and category defaults of the model go with it (ON DELETE CASCADE).
  tx.exec_params("DELETE FROM models WHERE id = $1", id);
  return call.changed(tx, {"model.delete", "model", id, std::nullopt, before, nullptr});
}

/// A tenant's grants as the API shows them; nullopt when there is no such tenant.
std::optional<json> grants_json(pqxx::work& tx, const std::string& tenant_id) {
  if (!is_uuid(tenant_id)) return std::nullopt;
  auto tenant = tx.exec_params("SELECT all_models FROM tenants WHERE id = $1", tenant_id);
  if (tenant.empty()) return std::nullopt;
  auto models = json::array();
  for (const auto& row :
       tx.exec_params("SELECT m.alias FROM tenant_models g JOIN models m ON m.id = g.model_id "
                      "WHERE g.tenant_id = $1 ORDER BY m.alias",
                      tenant_id)) {
    models.push_back(row[0].as<std::string>());
  }
  return json{
      {"tenant_id", tenant_id}, {"all_models", tenant[0][0].as<bool>()}, {"models", std::move(models)}};
}

Answer get_grants(pqxx::work& tx, const AdminCall& call) {
  auto grants = grants_json(tx, call.param("id"));
  if (!grants) throw no_such("tenant");
  return {200, *grants};
}

Answer replace_grants(pqxx::work& tx, const AdminCall& call) {
  auto grants = parse_grants(parse_object(call.context.request.body));
  const auto& tenant_id = call.param("id");
  if (is_uuid(tenant_id)) tx.exec_params("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", tenant_id);
  auto before = grants_json(tx, tenant_id);
  if (!before) throw no_such("tenant");
  std::vector<std::string> model_ids;
  for (const auto& alias : grants.models) {
    auto model = tx.exec_params("SELECT id FROM models WHERE alias = $1", alias);
    if (model.empty()) throw ApiError::invalid_request("Unknown model alias \"" + alias + "\".", "models");
    model_ids.push_back(model[0][0].as<std::string>());
  }
  tx.exec_params("UPDATE tenants SET all_models = $2, updated_at = now() WHERE id = $1", tenant_id,
                 grants.all_models);
  tx.exec_params("DELETE FROM tenant_models WHERE tenant_id = $1 AND model_id <> ALL ($2::uuid[])", tenant_id,
                 postgres::text_array(model_ids));
  tx.exec_params(
      "INSERT INTO tenant_models (tenant_id, model_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
      tenant_id, postgres::text_array(model_ids));
  return call.changed(
      tx, {"tenant.models.update", "tenant", tenant_id, tenant_id, *before, *grants_json(tx, tenant_id)});
}

}  // namespace

void add_model_routes(http::Router& router, const AdminParts& parts) {
  add_collection(router, parts,
                 {"/admin/models", list_models, create_model, get_model, update_model, delete_model});
  router.add("GET", "/admin/tenants/{id}/models", admin_handler(parts, Access::read, get_grants));
  router.add("PUT", "/admin/tenants/{id}/models", admin_handler(parts, Access::write, replace_grants));
}

}  // namespace switchyard::admin
