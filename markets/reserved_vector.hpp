#pragma once
// A std::vector whose copies keep the original's reserved capacity
// (std::vector's own copy shrinks it to the size): a copied market, e.g. the
// state an engine saves and restores around a bundle, then never allocates
// afterwards either. Markets reserve everything in their constructors.
#include <vector>

namespace defisim::markets {

template <typename T>
class ReservedVector : public std::vector<T> {
 public:
  ReservedVector() = default;
  ReservedVector(const ReservedVector& other) : std::vector<T>() { copy_from(other); }
  ReservedVector& operator=(const ReservedVector& other) {
    if (this != &other) copy_from(other);
    return *this;
  }
  ReservedVector(ReservedVector&&) noexcept = default;
  ReservedVector& operator=(ReservedVector&&) noexcept = default;
  ~ReservedVector() = default;

 private:
  void copy_from(const ReservedVector& other) {
    this->reserve(other.capacity());  // no-op when this one is as large already
    this->assign(other.begin(), other.end());
  }
};

}  // namespace defisim::markets
