// The console's page (agents/gateway/console/), built into the gateway so that it is served
// exactly as tested, with no files to install or lose (embed_assets.cmake writes the source).
#pragma once

#include <span>
#include <string_view>

namespace whistle::gateway {

struct ConsoleAsset {
  std::string_view path;  // "index.html", "console.js", "console.css"
  std::string_view content_type;
  std::string_view data;
};

std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace whistle::gateway
