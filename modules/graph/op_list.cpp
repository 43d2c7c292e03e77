// Name, arity and differentiability tables generated from the op list.
#include "modules/graph/op_list.h"

namespace hanvit {
namespace {

struct OpInfo {
  std::string_view name;
  int arity;
  bool differentiable;
};

constexpr OpInfo kOpInfo[] = {
#define HANVIT_OP_INFO(name, arity, differentiable) {#name, arity, differentiable != 0},
    HANVIT_OPS(HANVIT_OP_INFO)
#undef HANVIT_OP_INFO
};
static_assert(sizeof(kOpInfo) / sizeof(kOpInfo[0]) == kOpCount);

}  // namespace

std::string_view op_name(OpKind op) { return kOpInfo[static_cast<int>(op)].name; }
int op_arity(OpKind op) { return kOpInfo[static_cast<int>(op)].arity; }
bool op_differentiable(OpKind op) { return kOpInfo[static_cast<int>(op)].differentiable; }

}  // namespace hanvit
