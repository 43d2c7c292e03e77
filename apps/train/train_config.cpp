// TrainConfig from and to JSON (every key checked), YAML files read as JSON, and KEY=VALUE overrides.
#include "apps/train/train_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "modules/io/json_strict.h"

namespace hanvit::app {
namespace {

using nlohmann::json;

// Reads the fields of one JSON object; finish() refuses keys nobody asked for.
class ObjectReader {
 public:
  ObjectReader(const json& value, std::string where) : value_(value), where_(std::move(where)) {
    if (!value_.is_object()) fail(where_, "must be an object");
  }

  [[noreturn]] static void fail(const std::string& where, const std::string& problem) {
    throw std::invalid_argument(where + ": " + problem);
  }
  std::string at(const std::string& key) const { return where_ + "." + key; }
  const json* find(const std::string& key) {
    seen_.insert(key);
    auto it = value_.find(key);
    return it == value_.end() || it->is_null() ? nullptr : &*it;
  }

  void read(const std::string& key, std::string& out) {
    if (const json* v = find(key)) {
      if (!v->is_string()) fail(at(key), "must be a string");
      out = v->get<std::string>();
    }
  }
  void read(const std::string& key, bool& out) {
    if (const json* v = find(key)) {
      if (!v->is_boolean()) fail(at(key), "must be true or false");
      out = v->get<bool>();
    }
  }
  void read(const std::string& key, double& out, double min = -INFINITY) {
    if (const json* v = find(key)) {
      if (!v->is_number()) fail(at(key), "must be a number");
      out = v->get<double>();
      if (!std::isfinite(out) || out < min) {
        char bound[32];
        std::snprintf(bound, sizeof(bound), "%g", min);
        fail(at(key), std::string("must be a finite number >= ") + bound);
      }
    }
  }
  void read(const std::string& key, int64_t& out, int64_t min) {
    if (const json* v = find(key)) {
      if (!v->is_number_integer()) fail(at(key), "must be an integer");
      out = v->get<int64_t>();
      if (out < min) fail(at(key), "must be >= " + std::to_string(min));
    }
  }
  void read(const std::string& key, uint64_t& out) {
    if (const json* v = find(key)) {
      if (!v->is_number_unsigned()) fail(at(key), "must be a non-negative integer");
      out = v->get<uint64_t>();
    }
  }
  void read(const std::string& key, std::vector<std::string>& out) {
    if (const json* v = find(key)) {
      if (v->is_string()) {
        out = {v->get<std::string>()};
        return;
      }
      if (!v->is_array()) fail(at(key), "must be a string or a list of strings");
      out.clear();
      for (const json& item : *v) {
        if (!item.is_string()) fail(at(key), "must be a list of strings");
        out.push_back(item.get<std::string>());
      }
    }
  }
  void one_of(const std::string& key, const std::string& value, const std::set<std::string>& allowed) const {
    if (allowed.count(value)) return;
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(at(key), "'" + value + "' is not one of " + list);
  }
  void finish() const {
    for (const auto& [key, v] : value_.items())
      if (!seen_.count(key)) fail(at(key), "unknown key");
  }

 private:
  const json& value_;
  std::string where_;
  std::set<std::string> seen_;
};

std::vector<DataSource> read_sources(ObjectReader& reader, const std::string& key) {
  std::vector<DataSource> sources;
  const json* v = reader.find(key);
  if (!v) return sources;
  const json list = v->is_array() ? *v : json::array({*v});
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = reader.at(key) + "[" + std::to_string(i) + "]";
    DataSource source;
    if (list[i].is_string()) {
      source.path = list[i].get<std::string>();
    } else {
      ObjectReader item(list[i], where);
      item.read("path", source.path);
      item.read("format", source.format);
      item.read("weight", source.weight, 0.0);
      item.finish();
    }
    if (source.path.empty()) ObjectReader::fail(where, "needs a path");
    sources.push_back(source);
  }
  return sources;
}

json lr_scales_json(const std::vector<std::pair<std::string, double>>& scales) {
  json out = json::object();
  for (const auto& [pattern, scale] : scales) out[pattern] = scale;
  return out;
}

json sources_json(const std::vector<DataSource>& sources) {
  json list = json::array();
  for (const DataSource& s : sources) list.push_back({{"path", s.path}, {"format", s.format}, {"weight", s.weight}});
  return list;
}

// A YAML node as JSON: maps, sequences, and scalars as integers, numbers, booleans, null or strings.
json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = yaml_to_json(item.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted: always a string
      const json parsed = json::parse(text, nullptr, false);
      if (!parsed.is_discarded() && !parsed.is_object() && !parsed.is_array()) return parsed;
      if (text == "True" || text == "yes") return true;
      if (text == "False" || text == "no") return false;
      return text;
    }
    default:
      return nullptr;
  }
}

}  // namespace

json TrainConfig::to_json() const {
  return {{"model", model},
          {"output", output},
          {"train_data", sources_json(train_data)},
          {"val_data", sources_json(val_data)},
          {"steps", steps},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"grad_accum", grad_accum},
          {"max_tokens", max_tokens},
          {"optimizer",
           {{"lr", optimizer.lr},
            {"weight_decay", optimizer.weight_decay},
            {"beta1", optimizer.beta1},
            {"beta2", optimizer.beta2},
            {"eps", optimizer.eps},
            {"schedule", optimizer.schedule},
            {"warmup_steps", optimizer.warmup_steps},
            {"min_lr_ratio", optimizer.min_lr_ratio},
            {"clip", optimizer.clip},
            {"lr_scales", lr_scales_json(optimizer.lr_scales)}}},
          {"preset", preset},
          {"freeze", freeze},
          {"unfreeze", unfreeze},
          {"lora", {{"rank", lora.rank}, {"alpha", lora.alpha}, {"dropout", lora.dropout}, {"targets", lora.targets}}},
          {"precision", precision},
          {"device", device},
          {"eval_every", eval_every},
          {"eval_samples", eval_samples},
          {"checkpoint_every", checkpoint_every},
          {"keep_checkpoints", keep_checkpoints},
          {"log_every", log_every},
          {"max_bad_steps", max_bad_steps},
          {"seed", seed},
          {"workers", workers},
          {"group_by_length", group_by_length},
          {"recompute", recompute},
          {"zero1", zero1},
          {"strict_data", strict_data}};
}

TrainConfig TrainConfig::from_json(const json& value, const std::string& subject) {
  TrainConfig c;
  ObjectReader r(value, subject);
  r.read("model", c.model);
  r.read("output", c.output);
  c.train_data = read_sources(r, "train_data");
  c.val_data = read_sources(r, "val_data");
  r.read("steps", c.steps, 0);
  r.read("epochs", c.epochs, 0.0);
  r.read("batch_size", c.batch_size, 1);
  r.read("grad_accum", c.grad_accum, 1);
  r.read("max_tokens", c.max_tokens, 2);
  if (const json* o = r.find("optimizer")) {
    ObjectReader opt(*o, r.at("optimizer"));
    opt.read("lr", c.optimizer.lr, 0.0);
    opt.read("weight_decay", c.optimizer.weight_decay, 0.0);
    opt.read("beta1", c.optimizer.beta1, 0.0);
    opt.read("beta2", c.optimizer.beta2, 0.0);
    opt.read("eps", c.optimizer.eps, 0.0);
    opt.read("schedule", c.optimizer.schedule);
    opt.one_of("schedule", c.optimizer.schedule, {"constant", "linear", "cosine"});
    opt.read("warmup_steps", c.optimizer.warmup_steps, 0);
    opt.read("min_lr_ratio", c.optimizer.min_lr_ratio, 0.0);
    opt.read("clip", c.optimizer.clip, 0.0);
    if (const json* scales = opt.find("lr_scales")) {
      if (!scales->is_object()) ObjectReader::fail(opt.at("lr_scales"), "must be an object of name glob -> multiplier");
      for (const auto& [pattern, value] : scales->items()) {
        if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < 0)
          ObjectReader::fail(opt.at("lr_scales") + "." + pattern, "must be a finite number >= 0");
        c.optimizer.lr_scales.emplace_back(pattern, value.get<double>());
      }
    }
    if (c.optimizer.beta1 >= 1.0 || c.optimizer.beta2 >= 1.0) ObjectReader::fail(r.at("optimizer"), "betas must be < 1");
    opt.finish();
  }
  r.read("preset", c.preset);
  r.one_of("preset", c.preset, {"fusion", "full", "lora", "none"});
  r.read("freeze", c.freeze);
  r.read("unfreeze", c.unfreeze);
  if (const json* l = r.find("lora")) {
    ObjectReader lora(*l, r.at("lora"));
    int64_t rank = c.lora.rank;
    lora.read("rank", rank, 1);
    c.lora.rank = static_cast<int>(rank);
    lora.read("alpha", c.lora.alpha, 0.0);
    lora.read("dropout", c.lora.dropout, 0.0);
    if (c.lora.dropout >= 1.0) ObjectReader::fail(lora.at("dropout"), "must be below 1");
    lora.read("targets", c.lora.targets);
    lora.finish();
  }
  r.read("precision", c.precision);
  r.one_of("precision", c.precision, {"f32", "bf16"});
  r.read("device", c.device);
  r.one_of("device", c.device, {"cpu", "cuda"});
  r.read("eval_every", c.eval_every, 0);
  r.read("eval_samples", c.eval_samples, 0);
  r.read("checkpoint_every", c.checkpoint_every, 0);
  r.read("keep_checkpoints", c.keep_checkpoints, 1);
  r.read("log_every", c.log_every, 1);
  r.read("max_bad_steps", c.max_bad_steps, 1);
  r.read("seed", c.seed);
  r.read("workers", c.workers, 0);
  r.read("group_by_length", c.group_by_length);
  r.read("recompute", c.recompute);
  r.read("zero1", c.zero1);
  r.read("strict_data", c.strict_data);
  r.finish();
  if (c.model.empty()) ObjectReader::fail(subject, "model: a model folder is required");
  if (c.output.empty()) ObjectReader::fail(subject, "output: a run folder is required");
  if (c.train_data.empty()) ObjectReader::fail(subject, "train_data: at least one dataset is required");
  if (c.steps == 0 && c.epochs <= 0) ObjectReader::fail(subject, "steps or epochs must be set");
  if (c.batch_size % c.grad_accum != 0)
    ObjectReader::fail(subject, "batch_size " + std::to_string(c.batch_size) + " is not a multiple of grad_accum " +
                                    std::to_string(c.grad_accum));
  if (c.precision == "bf16" && c.device != "cuda")
    ObjectReader::fail(subject, "precision: bf16 needs device cuda (the CPU trains in f32)");
  if (c.preset == "lora" && c.lora.targets.empty())
    ObjectReader::fail(subject, "lora.targets: the lora preset needs target patterns, e.g. [\"*.q_proj\", \"*.v_proj\"]");
  return c;
}

json read_config_file(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".yaml" || ext == ".yml") {
    if (!std::filesystem::is_regular_file(path)) throw std::invalid_argument("config '" + path + "': no such file");
    try {
      return yaml_to_json(YAML::LoadFile(path));
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument("config '" + path + "': " + e.what());
    }
  }
  return read_json_file_strict(path, "config '" + path + "'");
}

void apply_overrides(json& config, const std::vector<std::string>& overrides) {
  for (const std::string& item : overrides) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("override '" + item + "': expected KEY=VALUE, e.g. optimizer.lr=3e-4");
    const std::string text = item.substr(eq + 1);
    json value = json::parse(text, nullptr, false);
    if (value.is_discarded()) value = text;
    json* target = &config;
    std::string key = item.substr(0, eq);
    for (size_t dot; (dot = key.find('.')) != std::string::npos; key = key.substr(dot + 1)) {
      json& next = (*target)[key.substr(0, dot)];
      if (next.is_null()) next = json::object();
      if (!next.is_object()) throw std::invalid_argument("override '" + item + "': " + key.substr(0, dot) + " is not an object");
      target = &next;
    }
    (*target)[key] = value;
  }
}

}  // namespace hanvit::app
