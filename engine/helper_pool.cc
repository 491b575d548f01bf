#include "engine/helper_pool.h"

namespace ringmail::engine {

HelperPool::HelperPool(Mesh* mesh, int first_source, int threads,
                       size_t queue_capacity)
    : mesh_(mesh), first_source_(first_source) {
  for (int i = 0; i < threads; ++i) {
    auto h = std::make_unique<Helper>();
    for (int c = 0; c < mesh->cores(); ++c) {
      h->from_core.push_back(std::make_unique<SpscQueue<Item>>(queue_capacity));
    }
    helpers_.push_back(std::move(h));
  }
  for (int i = 0; i < threads; ++i) {
    helpers_[i]->thread = std::thread([this, i] { RunHelper(i); });
  }
}

HelperPool::~HelperPool() {
  stop_.store(true);
  for (auto& h : helpers_) {
    h->pending.fetch_add(1);
    h->pending.notify_one();
  }
  for (auto& h : helpers_) h->thread.join();
}

bool HelperPool::Submit(Loop* from, Work& work) {
  // Each core sticks to one helper, so every pair queue has one producer.
  Helper& h = *helpers_[from->id() % helpers_.size()];
  Item item{from->id(), std::move(work)};
  if (!h.from_core[from->id()]->TryPush(item)) {
    work = std::move(item.work);
    return false;
  }
  if (h.pending.fetch_add(1) == 0) h.pending.notify_one();
  return true;
}

void HelperPool::RunHelper(int index) {
  Helper& h = *helpers_[index];
  int source = first_source_ + index;
  while (!stop_.load(std::memory_order_acquire)) {
    bool ran = false;
    for (auto& q : h.from_core) {
      while (std::optional<Item> item = q->TryPop()) {
        h.pending.fetch_sub(1);
        Task reply = item->work();
        if (reply) mesh_->PostFromThread(source, item->core, std::move(reply));
        ran = true;
        if (stop_.load(std::memory_order_acquire)) return;
      }
    }
    if (!ran) h.pending.wait(0);
  }
}

}  // namespace ringmail::engine
