// Reading of caption JSON Lines files.
#include "datasets/formats/caption_jsonl.h"

#include "datasets/formats/jsonl_file.h"
#include "datasets/formats/record_fields.h"

namespace hanvit::data {

std::vector<Sample> read_caption_jsonl(const std::filesystem::path& path, const FormatOptions& options,
                                       RecordLog& log) {
  const std::filesystem::path base = image_base(path, options.image_root);
  std::vector<Sample> samples;
  read_jsonl(path, log, [&](const JsonlRecord& record) {
    try {
      const nlohmann::json& value = record.value;
      Sample sample;
      sample.kind = SampleKind::caption;
      if (value.is_object() && value.contains("captions"))
        sample.references = require_text_list(value["captions"], "captions");
      else
        sample.references = {require_text(require_field(value, "caption"), "caption")};
      sample.image = resolve_image(require_text(require_field(value, "image"), "image"), base, options.check_images);
      sample.turns = {Turn{"", sample.references.front()}};
      sample.source = record.where;
      samples.push_back(std::move(sample));
      log.accept();
    } catch (const BadRecord& e) {
      log.skip(record.where, e.what());
    }
  });
  return samples;
}

}  // namespace hanvit::data
