#include "framework/output/hdf5.hpp"

#include <fmt/format.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <mutex>

#include "framework/core/errors.hpp"

#if defined(DEFISIM_MPI)
#include <mpi.h>
#endif

namespace defisim::output::hdf5 {

namespace {

// The innermost description on HDF5's error stack (where the error was
// detected), plus the minor message; clears the stack.
std::string take_error_detail() {
  struct Walk {
    std::string detail;
  } walk;
  auto visit = [](unsigned n, const H5E_error2_t* entry, void* data) -> herr_t {
    auto* w = static_cast<Walk*>(data);
    if (n != 0 || entry == nullptr) return 0;
    char minor[160] = {};
    if (H5Eget_msg(entry->min_num, nullptr, minor, sizeof minor) < 0) minor[0] = '\0';
    std::string desc = entry->desc != nullptr ? entry->desc : "";
    if (!desc.empty() && minor[0] != '\0') {
      w->detail = fmt::format("{} ({})", desc, minor);
    } else {
      w->detail = !desc.empty() ? desc : std::string(minor);
    }
    return 0;
  };
  (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, visit, &walk);
  (void)H5Eclear2(H5E_DEFAULT);
  return walk.detail.empty() ? std::string("HDF5 reported an error") : walk.detail;
}

hsize_t product(const std::vector<hsize_t>& dims) {
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  return n;
}

std::string trim_fixed(const char* data, std::size_t size, bool space_padded) {
  std::size_t length = 0;
  while (length < size && data[length] != '\0') ++length;
  std::string value(data, length);
  if (space_padded) {
    while (!value.empty() && value.back() == ' ') value.pop_back();
  }
  return value;
}

}  // namespace

void initialize() {
  static std::once_flag once;
  std::call_once(once, [] {
    (void)H5open();
    (void)H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

void fail(std::string_view action, const std::filesystem::path& file, std::string_view object) {
  std::string detail = take_error_detail();
  if (object.empty()) {
    throw core::IoError(fmt::format("{} '{}': {}", action, file.string(), detail));
  }
  throw core::IoError(fmt::format("{} '{}' in '{}': {}", action, object, file.string(), detail));
}

Datatype utf8_string_type() {
  Datatype type(H5Tcopy(H5T_C_S1));
  if (!type || H5Tset_size(type.id(), H5T_VARIABLE) < 0 ||
      H5Tset_cset(type.id(), H5T_CSET_UTF8) < 0) {
    fail("cannot create the UTF-8 string type", {}, {});
  }
  return type;
}

std::vector<hsize_t> make_chunk_1d(hsize_t length, hsize_t max_chunk) {
  if (length == 0) return {};
  return {std::min(length, std::max<hsize_t>(max_chunk, 1))};
}

std::vector<hsize_t> make_chunk_rows(hsize_t rows, hsize_t columns, hsize_t target_bytes) {
  if (rows == 0 || columns == 0) return {};
  const hsize_t target_elements = std::max<hsize_t>(target_bytes / 8, 1);
  const hsize_t chunk_columns = std::min(columns, target_elements);
  const hsize_t fit = std::max<hsize_t>(target_elements / chunk_columns, 1);
  const hsize_t chunk_rows = std::min(std::bit_floor(fit), rows);
  return {chunk_rows, chunk_columns};
}

// ---------------------------------------------------------------- Object

Object::Object(hid_t id, herr_t (*closer)(hid_t), std::filesystem::path file, std::string name)
    : id_(id), close_(closer), file_(std::move(file)), name_(std::move(name)) {}

Object::~Object() { reset(); }

Object::Object(Object&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)),
      close_(other.close_),
      file_(std::move(other.file_)),
      name_(std::move(other.name_)) {}

Object& Object::operator=(Object&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    close_ = other.close_;
    file_ = std::move(other.file_);
    name_ = std::move(other.name_);
  }
  return *this;
}

void Object::reset() noexcept {
  if (id_ >= 0 && close_ != nullptr) (void)close_(id_);
  id_ = H5I_INVALID_HID;
}

void Object::close() {
  if (id_ < 0) return;
  const herr_t status = close_ != nullptr ? close_(id_) : 0;
  id_ = H5I_INVALID_HID;
  if (status < 0) fail("cannot close");
}

std::string Object::child_name(std::string_view child) const {
  if (name_.empty() || name_ == "/") return fmt::format("/{}", child);
  return fmt::format("{}/{}", name_, child);
}

void Object::fail(std::string_view action, std::string_view object) const {
  hdf5::fail(action, file_, object);
}

void Object::fail(std::string_view action) const { hdf5::fail(action, file_, name_); }

bool Object::has_attribute(const std::string& attribute) const {
  const htri_t exists = H5Aexists(id_, attribute.c_str());
  if (exists < 0) fail("cannot look up attribute", child_name("@" + attribute));
  return exists > 0;
}

std::vector<std::string> Object::attribute_names() const {
  std::vector<std::string> names;
  auto visit = [](hid_t, const char* attribute, const H5A_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(attribute);
    return 0;
  };
  hsize_t index = 0;
  if (H5Aiterate2(id_, H5_INDEX_NAME, H5_ITER_INC, &index, visit, &names) < 0) {
    fail("cannot list the attributes of");
  }
  return names;
}

Attribute Object::open_attribute(const std::string& attribute) const {
  if (!has_attribute(attribute)) {
    throw core::IoError(fmt::format("missing attribute '{}' on '{}' in '{}'", attribute, name_,
                                    file_.string()));
  }
  Attribute handle(H5Aopen(id_, attribute.c_str(), H5P_DEFAULT));
  if (!handle) fail("cannot open attribute", child_name("@" + attribute));
  return handle;
}

Attribute Object::create_attribute(const std::string& attribute, hid_t type, hid_t space) const {
  if (has_attribute(attribute) && H5Adelete(id_, attribute.c_str()) < 0) {
    fail("cannot replace attribute", child_name("@" + attribute));
  }
  Attribute handle(H5Acreate2(id_, attribute.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!handle) fail("cannot create attribute", child_name("@" + attribute));
  return handle;
}

void Object::write_string_attribute(const std::string& attribute, std::string_view value) const {
  const Datatype type = utf8_string_type();
  const Dataspace space(H5Screate(H5S_SCALAR));
  if (!space) fail("cannot create a dataspace for attribute", child_name("@" + attribute));
  const Attribute handle = create_attribute(attribute, type.id(), space.id());
  const std::string text(value);
  const char* pointer = text.c_str();
  if (H5Awrite(handle.id(), type.id(), &pointer) < 0) {
    fail("cannot write attribute", child_name("@" + attribute));
  }
}

void Object::write_strings_attribute(const std::string& attribute,
                                     const std::vector<std::string>& values) const {
  const Datatype type = utf8_string_type();
  const hsize_t dims[1] = {values.size()};
  const Dataspace space(H5Screate_simple(1, dims, nullptr));
  if (!space) fail("cannot create a dataspace for attribute", child_name("@" + attribute));
  const Attribute handle = create_attribute(attribute, type.id(), space.id());
  if (values.empty()) return;
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (H5Awrite(handle.id(), type.id(), pointers.data()) < 0) {
    fail("cannot write attribute", child_name("@" + attribute));
  }
}

namespace {
template <class T, class Create>
void write_numeric_attribute(const Object& object, const std::string& attribute, hid_t file_type,
                             hid_t memory_type, std::span<const T> values, bool scalar,
                             Create create) {
  const hsize_t dims[1] = {values.size()};
  const Dataspace space(scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, nullptr));
  if (!space) {
    hdf5::fail("cannot create a dataspace for attribute", object.file(),
               object.name() + "@" + attribute);
  }
  const Attribute handle = create(file_type, space.id());
  if (values.empty()) return;
  if (H5Awrite(handle.id(), memory_type, values.data()) < 0) {
    hdf5::fail("cannot write attribute", object.file(), object.name() + "@" + attribute);
  }
}
}  // namespace

void Object::write_double_attribute(const std::string& attribute, double value) const {
  write_numeric_attribute<double>(
      *this, attribute, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, std::span<const double>(&value, 1), true,
      [&](hid_t type, hid_t space) { return create_attribute(attribute, type, space); });
}

void Object::write_uint64_attribute(const std::string& attribute, std::uint64_t value) const {
  write_numeric_attribute<std::uint64_t>(
      *this, attribute, H5T_STD_U64LE, H5T_NATIVE_UINT64,
      std::span<const std::uint64_t>(&value, 1), true,
      [&](hid_t type, hid_t space) { return create_attribute(attribute, type, space); });
}

void Object::write_int_attribute(const std::string& attribute, std::int64_t value) const {
  write_numeric_attribute<std::int64_t>(
      *this, attribute, H5T_STD_I64LE, H5T_NATIVE_INT64, std::span<const std::int64_t>(&value, 1),
      true, [&](hid_t type, hid_t space) { return create_attribute(attribute, type, space); });
}

void Object::write_ints_attribute(const std::string& attribute,
                                  std::span<const int> values) const {
  write_numeric_attribute<int>(
      *this, attribute, H5T_STD_I32LE, H5T_NATIVE_INT, values, false,
      [&](hid_t type, hid_t space) { return create_attribute(attribute, type, space); });
}

namespace {

// Number of elements of an attribute or dataset dataspace; scalar = 1.
hssize_t element_count(hid_t space) { return H5Sget_simple_extent_npoints(space); }

// Reads `count` strings (variable or fixed length) with read(memory_type, buffer) -> herr_t.
template <class Read>
bool read_strings_with(hid_t file_type, std::size_t count, Read read,
                       std::vector<std::string>& out) {
  out.clear();
  if (count == 0) return true;
  const htri_t variable = H5Tis_variable_str(file_type);
  if (variable < 0) return false;
  Datatype memory_type(H5Tcopy(file_type));
  if (!memory_type) return false;
  if (variable > 0) {
    std::vector<char*> pointers(count, nullptr);
    if (read(memory_type.id(), pointers.data()) < 0) return false;
    out.reserve(count);
    for (char* p : pointers) {
      out.emplace_back(p != nullptr ? p : "");
      if (p != nullptr) (void)H5free_memory(p);
    }
    return true;
  }
  const std::size_t size = H5Tget_size(file_type);
  if (size == 0) return false;
  const bool space_padded = H5Tget_strpad(file_type) == H5T_STR_SPACEPAD;
  std::vector<char> buffer(size * count, '\0');
  if (read(memory_type.id(), buffer.data()) < 0) return false;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(trim_fixed(buffer.data() + i * size, size, space_padded));
  }
  return true;
}

}  // namespace

std::vector<std::string> Object::read_strings_attribute(const std::string& attribute) const {
  const Attribute handle = open_attribute(attribute);
  const Datatype type(H5Aget_type(handle.id()));
  const Dataspace space(H5Aget_space(handle.id()));
  if (!type || !space) fail("cannot inspect attribute", child_name("@" + attribute));
  if (H5Tget_class(type.id()) != H5T_STRING) {
    throw core::IoError(fmt::format("attribute '{}' of '{}' in '{}' is not a string", attribute,
                                    name_, file_.string()));
  }
  const hssize_t count = element_count(space.id());
  if (count < 0) fail("cannot inspect attribute", child_name("@" + attribute));
  std::vector<std::string> values;
  const bool ok = read_strings_with(
      type.id(), static_cast<std::size_t>(count),
      [&](hid_t memory_type, void* buffer) { return H5Aread(handle.id(), memory_type, buffer); },
      values);
  if (!ok) fail("cannot read attribute", child_name("@" + attribute));
  return values;
}

std::string Object::read_string_attribute(const std::string& attribute) const {
  std::vector<std::string> values = read_strings_attribute(attribute);
  if (values.size() != 1) {
    throw core::IoError(fmt::format("attribute '{}' of '{}' in '{}' holds {} strings, expected one",
                                    attribute, name_, file_.string(), values.size()));
  }
  return std::move(values.front());
}

bool Object::attribute_is_string(const std::string& attribute) const {
  const Attribute handle = open_attribute(attribute);
  const Datatype type(H5Aget_type(handle.id()));
  if (!type) fail("cannot inspect attribute", child_name("@" + attribute));
  return H5Tget_class(type.id()) == H5T_STRING;
}

namespace {
template <class T>
std::vector<T> read_numeric_attribute(const Object& object, const Attribute& handle,
                                      const std::string& attribute, hid_t memory_type) {
  const std::string where = object.name() + "@" + attribute;
  const Datatype type(H5Aget_type(handle.id()));
  const Dataspace space(H5Aget_space(handle.id()));
  if (!type || !space) hdf5::fail("cannot inspect attribute", object.file(), where);
  const H5T_class_t type_class = H5Tget_class(type.id());
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw core::IoError(fmt::format("attribute '{}' of '{}' in '{}' is not numeric", attribute,
                                    object.name(), object.file().string()));
  }
  const hssize_t count = element_count(space.id());
  if (count < 0) hdf5::fail("cannot inspect attribute", object.file(), where);
  std::vector<T> values(static_cast<std::size_t>(count));
  if (count > 0 && H5Aread(handle.id(), memory_type, values.data()) < 0) {
    hdf5::fail("cannot read attribute", object.file(), where);
  }
  return values;
}

template <class T>
T single(std::vector<T> values, const Object& object, const std::string& attribute) {
  if (values.size() != 1) {
    throw core::IoError(fmt::format("attribute '{}' of '{}' in '{}' holds {} values, expected one",
                                    attribute, object.name(), object.file().string(),
                                    values.size()));
  }
  return values.front();
}
}  // namespace

double Object::read_double_attribute(const std::string& attribute) const {
  return single(read_numeric_attribute<double>(*this, open_attribute(attribute), attribute,
                                               H5T_NATIVE_DOUBLE),
                *this, attribute);
}

std::uint64_t Object::read_uint64_attribute(const std::string& attribute) const {
  return single(read_numeric_attribute<std::uint64_t>(*this, open_attribute(attribute), attribute,
                                                      H5T_NATIVE_UINT64),
                *this, attribute);
}

std::vector<std::int64_t> Object::read_ints_attribute(const std::string& attribute) const {
  return read_numeric_attribute<std::int64_t>(*this, open_attribute(attribute), attribute,
                                              H5T_NATIVE_INT64);
}

std::string Object::read_attribute_as_text(const std::string& attribute) const {
  const Attribute handle = open_attribute(attribute);
  const Datatype type(H5Aget_type(handle.id()));
  const Dataspace space(H5Aget_space(handle.id()));
  if (!type || !space) fail("cannot inspect attribute", child_name("@" + attribute));
  const bool scalar = H5Sget_simple_extent_type(space.id()) == H5S_SCALAR;
  std::vector<std::string> items;
  switch (H5Tget_class(type.id())) {
    case H5T_STRING:
      items = read_strings_attribute(attribute);
      break;
    case H5T_INTEGER:
      if (H5Tget_sign(type.id()) == H5T_SGN_NONE) {
        for (auto v : read_numeric_attribute<std::uint64_t>(*this, handle, attribute,
                                                            H5T_NATIVE_UINT64)) {
          items.push_back(fmt::format("{}", v));
        }
      } else {
        for (auto v : read_numeric_attribute<std::int64_t>(*this, handle, attribute,
                                                           H5T_NATIVE_INT64)) {
          items.push_back(fmt::format("{}", v));
        }
      }
      break;
    case H5T_FLOAT:
      for (auto v : read_numeric_attribute<double>(*this, handle, attribute, H5T_NATIVE_DOUBLE)) {
        items.push_back(fmt::format("{}", v));
      }
      break;
    default:
      throw core::IoError(fmt::format("attribute '{}' of '{}' in '{}' has an unsupported type",
                                      attribute, name_, file_.string()));
  }
  if (scalar && items.size() == 1) return items.front();
  return fmt::format("[{}]", fmt::join(items, ", "));
}

// ---------------------------------------------------------------- Dataset

Dataset::Dataset(hid_t id, std::filesystem::path file, std::string name)
    : Object(id, H5Dclose, std::move(file), std::move(name)) {}

std::vector<hsize_t> Dataset::dims() const {
  const Dataspace space(H5Dget_space(id()));
  if (!space) fail("cannot get the dataspace of");
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) fail("cannot get the rank of");
  std::vector<hsize_t> result(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space.id(), result.data(), nullptr) < 0) {
    fail("cannot get the shape of");
  }
  return result;
}

bool Dataset::is_string() const {
  const Datatype type(H5Dget_type(id()));
  if (!type) fail("cannot get the type of");
  return H5Tget_class(type.id()) == H5T_STRING;
}

void Dataset::extend(const std::vector<hsize_t>& new_dims) const {
  if (H5Dset_extent(id(), new_dims.data()) < 0) fail("cannot extend");
}

void Dataset::write_raw(hid_t memory_type, const void* data, std::size_t count) const {
  const hsize_t expected = product(dims());
  if (count != expected) {
    throw core::InvariantViolation(fmt::format("writing {} values to '{}' in '{}' which holds {}",
                                               count, name(), file().string(), expected));
  }
  if (count == 0) return;
  if (H5Dwrite(id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail("cannot write");
}

void Dataset::write(std::span<const double> values) const {
  write_raw(H5T_NATIVE_DOUBLE, values.data(), values.size());
}

void Dataset::write(std::span<const std::uint64_t> values) const {
  write_raw(H5T_NATIVE_UINT64, values.data(), values.size());
}

void Dataset::write_strings(const std::vector<std::string>& values) const {
  const hsize_t expected = product(dims());
  if (values.size() != expected) {
    throw core::InvariantViolation(fmt::format("writing {} strings to '{}' in '{}' which holds {}",
                                               values.size(), name(), file().string(), expected));
  }
  if (values.empty()) return;
  const Datatype type = utf8_string_type();
  std::vector<const char*> pointers;
  pointers.reserve(values.size());
  for (const auto& v : values) pointers.push_back(v.c_str());
  if (H5Dwrite(id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()) < 0) {
    fail("cannot write");
  }
}

hsize_t Dataset::select_rows(const Dataspace& file_space, hsize_t first_row, hsize_t rows,
                             std::vector<hsize_t>& memory_dims) const {
  const int rank = H5Sget_simple_extent_ndims(file_space.id());
  if (rank < 0) fail("cannot get the rank of");
  if (rank != 1 && rank != 2) {
    throw core::InvariantViolation(fmt::format(
        "row access to '{}' in '{}' which has rank {}", name(), file().string(), rank));
  }
  std::vector<hsize_t> shape(static_cast<std::size_t>(rank));
  if (H5Sget_simple_extent_dims(file_space.id(), shape.data(), nullptr) < 0) {
    fail("cannot get the shape of");
  }
  if (first_row > shape[0] || rows > shape[0] - first_row) {
    throw core::InvariantViolation(fmt::format("rows [{}, {}) out of range for '{}' in '{}' ({} rows)",
                                               first_row, first_row + rows, name(),
                                               file().string(), shape[0]));
  }
  std::vector<hsize_t> start(shape.size(), 0);
  start[0] = first_row;
  memory_dims = shape;
  memory_dims[0] = rows;
  if (rows > 0 && H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr,
                                      memory_dims.data(), nullptr) < 0) {
    fail("cannot select rows of");
  }
  return product(memory_dims);
}

void Dataset::write_rows_raw(hid_t memory_type, hsize_t first_row, hsize_t rows, const void* data,
                             std::size_t count) const {
  const Dataspace file_space(H5Dget_space(id()));
  if (!file_space) fail("cannot get the dataspace of");
  std::vector<hsize_t> memory_dims;
  const hsize_t expected = select_rows(file_space, first_row, rows, memory_dims);
  if (count != expected) {
    throw core::InvariantViolation(fmt::format(
        "writing {} values to rows [{}, {}) of '{}' in '{}', which need {}", count, first_row,
        first_row + rows, name(), file().string(), expected));
  }
  if (count == 0) return;
  const Dataspace memory_space(
      H5Screate_simple(static_cast<int>(memory_dims.size()), memory_dims.data(), nullptr));
  if (!memory_space) fail("cannot create a memory dataspace for");
  if (H5Dwrite(id(), memory_type, memory_space.id(), file_space.id(), H5P_DEFAULT, data) < 0) {
    fail(fmt::format("cannot write rows [{}, {}) of", first_row, first_row + rows));
  }
}

void Dataset::write_rows(hsize_t first_row, hsize_t rows, std::span<const double> values) const {
  write_rows_raw(H5T_NATIVE_DOUBLE, first_row, rows, values.data(), values.size());
}

void Dataset::write_rows(hsize_t first_row, hsize_t rows,
                         std::span<const std::uint64_t> values) const {
  write_rows_raw(H5T_NATIVE_UINT64, first_row, rows, values.data(), values.size());
}

void Dataset::read_raw(hid_t memory_type, void* data, std::size_t count) const {
  if (count == 0) return;
  if (H5Dread(id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) fail("cannot read");
}

void Dataset::read_rows_raw(hid_t memory_type, hsize_t first_row, hsize_t rows, void* data,
                            std::size_t count) const {
  const Dataspace file_space(H5Dget_space(id()));
  if (!file_space) fail("cannot get the dataspace of");
  std::vector<hsize_t> memory_dims;
  const hsize_t expected = select_rows(file_space, first_row, rows, memory_dims);
  if (count != expected) {
    throw core::InvariantViolation(fmt::format("reading rows of '{}' into a buffer of the wrong size",
                                               name()));
  }
  if (count == 0) return;
  const Dataspace memory_space(
      H5Screate_simple(static_cast<int>(memory_dims.size()), memory_dims.data(), nullptr));
  if (!memory_space) fail("cannot create a memory dataspace for");
  if (H5Dread(id(), memory_type, memory_space.id(), file_space.id(), H5P_DEFAULT, data) < 0) {
    fail(fmt::format("cannot read rows [{}, {}) of", first_row, first_row + rows));
  }
}

namespace {
void require_numeric(const Dataset& dataset) {
  if (dataset.is_string()) {
    throw core::IoError(fmt::format("dataset '{}' in '{}' holds strings, expected numbers",
                                    dataset.name(), dataset.file().string()));
  }
}
}  // namespace

std::vector<double> Dataset::read_doubles() const {
  require_numeric(*this);
  std::vector<double> values(static_cast<std::size_t>(product(dims())));
  read_raw(H5T_NATIVE_DOUBLE, values.data(), values.size());
  return values;
}

std::vector<std::uint64_t> Dataset::read_uint64s() const {
  require_numeric(*this);
  std::vector<std::uint64_t> values(static_cast<std::size_t>(product(dims())));
  read_raw(H5T_NATIVE_UINT64, values.data(), values.size());
  return values;
}

std::vector<double> Dataset::read_double_rows(hsize_t first_row, hsize_t rows) const {
  require_numeric(*this);
  const std::vector<hsize_t> shape = dims();
  hsize_t per_row = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) per_row *= shape[i];
  std::vector<double> values(static_cast<std::size_t>(rows * per_row));
  read_rows_raw(H5T_NATIVE_DOUBLE, first_row, rows, values.data(), values.size());
  return values;
}

std::vector<std::string> Dataset::read_strings() const {
  const Datatype type(H5Dget_type(id()));
  if (!type) fail("cannot get the type of");
  if (H5Tget_class(type.id()) != H5T_STRING) {
    throw core::IoError(fmt::format("dataset '{}' in '{}' does not hold strings", name(),
                                    file().string()));
  }
  const std::size_t count = static_cast<std::size_t>(product(dims()));
  std::vector<std::string> values;
  const bool ok = read_strings_with(
      type.id(), count,
      [&](hid_t memory_type, void* buffer) {
        return H5Dread(id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
      },
      values);
  if (!ok) fail("cannot read");
  return values;
}

// ---------------------------------------------------------------- Group

Group::Group(hid_t id, std::filesystem::path file, std::string name)
    : Object(id, H5Gclose, std::move(file), std::move(name)) {}

bool Group::exists(const std::string& child) const {
  const htri_t found = H5Lexists(id(), child.c_str(), H5P_DEFAULT);
  if (found < 0) fail("cannot look up", child_name(child));
  return found > 0;
}

std::vector<std::string> Group::child_names() const {
  H5G_info_t info{};
  if (H5Gget_info(id(), &info) < 0) fail("cannot list the members of");
  std::vector<std::string> names;
  names.reserve(info.nlinks);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length =
        H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) fail("cannot list the members of");
    std::string child(static_cast<std::size_t>(length) + 1, '\0');
    if (H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, child.data(), child.size(),
                           H5P_DEFAULT) < 0) {
      fail("cannot list the members of");
    }
    child.resize(static_cast<std::size_t>(length));
    names.push_back(std::move(child));
  }
  return names;
}

Group Group::create_group(const std::string& child) const {
  const hid_t group = H5Gcreate2(id(), child.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0) fail("cannot create group", child_name(child));
  return Group(group, file(), child_name(child));
}

Group Group::open_group(const std::string& child) const {
  const hid_t group = H5Gopen2(id(), child.c_str(), H5P_DEFAULT);
  if (group < 0) fail("cannot open group", child_name(child));
  return Group(group, file(), child_name(child));
}

Dataset Group::create_dataset(const std::string& child, ElementType type,
                              const std::vector<hsize_t>& dims,
                              const DatasetOptions& options) const {
  const std::string where = child_name(child);
  if (dims.empty()) {
    throw core::InvariantViolation(fmt::format("dataset '{}' needs at least one dimension", where));
  }
  PropertyList create(H5Pcreate(H5P_DATASET_CREATE));
  if (!create) fail("cannot create the creation properties of", where);
  std::vector<hsize_t> max_dims = dims;
  if (!options.chunk.empty()) {
    if (options.chunk.size() != dims.size()) {
      throw core::InvariantViolation(fmt::format("chunk rank differs from the rank of '{}'", where));
    }
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const bool fixed = !(options.extendible && i == 0);
      if (options.chunk[i] == 0 || (fixed && options.chunk[i] > dims[i])) {
        throw core::InvariantViolation(
            fmt::format("invalid chunk shape for '{}' (dimension {}: chunk {}, size {})", where, i,
                        options.chunk[i], dims[i]));
      }
    }
    if (H5Pset_chunk(create.id(), static_cast<int>(options.chunk.size()), options.chunk.data()) <
        0) {
      fail("cannot set the chunk shape of", where);
    }
    if (options.compress) {
      if (H5Pset_shuffle(create.id()) < 0 ||
          H5Pset_deflate(create.id(), static_cast<unsigned>(options.deflate_level)) < 0) {
        fail("cannot enable compression of", where);
      }
    }
    if (options.extendible) max_dims[0] = H5S_UNLIMITED;
  } else if (options.extendible) {
    throw core::InvariantViolation(fmt::format("extendible dataset '{}' needs a chunk", where));
  }
  if (options.fill_nan && type == ElementType::float64) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (H5Pset_fill_value(create.id(), H5T_NATIVE_DOUBLE, &nan) < 0) {
      fail("cannot set the fill value of", where);
    }
  }
  PropertyList access(H5Pcreate(H5P_DATASET_ACCESS));
  if (!access) fail("cannot create the access properties of", where);
  if (options.chunk_cache_bytes > 0 &&
      H5Pset_chunk_cache(access.id(), 1009, options.chunk_cache_bytes,
                         H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
    fail("cannot set the chunk cache of", where);
  }
  const Dataspace space(
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()));
  if (!space) fail("cannot create the dataspace of", where);
  const hid_t file_type = type == ElementType::float64 ? H5T_IEEE_F64LE : H5T_STD_U64LE;
  const hid_t dataset = H5Dcreate2(id(), child.c_str(), file_type, space.id(), H5P_DEFAULT,
                                   create.id(), access.id());
  if (dataset < 0) fail("cannot create dataset", where);
  return Dataset(dataset, file(), where);
}

Dataset Group::create_string_dataset(const std::string& child, hsize_t length) const {
  const std::string where = child_name(child);
  const Datatype type = utf8_string_type();
  const hsize_t dims[1] = {length};
  const Dataspace space(H5Screate_simple(1, dims, nullptr));
  if (!space) fail("cannot create the dataspace of", where);
  const hid_t dataset =
      H5Dcreate2(id(), child.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (dataset < 0) fail("cannot create dataset", where);
  return Dataset(dataset, file(), where);
}

Dataset Group::open_dataset(const std::string& child) const {
  const hid_t dataset = H5Dopen2(id(), child.c_str(), H5P_DEFAULT);
  if (dataset < 0) fail("cannot open dataset", child_name(child));
  return Dataset(dataset, file(), child_name(child));
}

namespace {
DatasetOptions small_1d_options(hsize_t length, bool parallel) {
  DatasetOptions options;
  // Short columns are stored contiguously; long ones chunked and compressed,
  // except in a file written in parallel, where HDF5 filters only collective
  // writes (the values read back are the same either way).
  if (length >= 4096 && !parallel) {
    options.chunk = make_chunk_1d(length);
  } else {
    options.compress = false;
  }
  return options;
}
}  // namespace

Dataset Group::write_dataset(const std::string& child, std::span<const double> values) const {
  Dataset dataset =
      create_dataset(child, ElementType::float64, {values.size()}, small_1d_options(values.size(), is_parallel(id())));
  dataset.write(values);
  return dataset;
}

Dataset Group::write_dataset(const std::string& child,
                             std::span<const std::uint64_t> values) const {
  Dataset dataset =
      create_dataset(child, ElementType::uint64, {values.size()}, small_1d_options(values.size(), is_parallel(id())));
  dataset.write(values);
  return dataset;
}

Dataset Group::write_strings_dataset(const std::string& child,
                                     const std::vector<std::string>& values) const {
  Dataset dataset = create_string_dataset(child, values.size());
  dataset.write_strings(values);
  return dataset;
}

// ---------------------------------------------------------------- chunk filters

namespace {

// H5Z_filter_shuffle for 8-byte elements: out[b * n + i] = byte b of element i.
void shuffle8(const unsigned char* in, std::size_t n, unsigned char* out) {
  std::size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    // Eight elements at a time: an 8 x 8 byte transpose in three swap stages,
    // then one 8-byte store into each of the eight byte planes.
    for (; i + 8 <= n; i += 8) {
      std::uint64_t x[8];
      std::memcpy(x, in + i * 8, sizeof x);
      for (int r = 0; r < 4; ++r) {
        const std::uint64_t t = ((x[r] >> 32) ^ x[r + 4]) & 0x00000000FFFFFFFFull;
        x[r] ^= t << 32;
        x[r + 4] ^= t;
      }
      for (int r : {0, 1, 4, 5}) {
        const std::uint64_t t = ((x[r] >> 16) ^ x[r + 2]) & 0x0000FFFF0000FFFFull;
        x[r] ^= t << 16;
        x[r + 2] ^= t;
      }
      for (int r : {0, 2, 4, 6}) {
        const std::uint64_t t = ((x[r] >> 8) ^ x[r + 1]) & 0x00FF00FF00FF00FFull;
        x[r] ^= t << 8;
        x[r + 1] ^= t;
      }
      for (std::size_t b = 0; b < 8; ++b) std::memcpy(out + b * n + i, &x[b], 8);
    }
  }
  for (; i < n; ++i) {
    for (std::size_t b = 0; b < 8; ++b) out[b * n + i] = in[i * 8 + b];
  }
}

// One deflate stream per thread, reset between chunks: what compress2 does
// (deflateInit at the level, one deflate(Z_FINISH) over the whole input with
// room for all the output, deflateEnd) without allocating and faulting in
// zlib's ~256 KiB of state for every chunk. zlib documents deflateReset as
// equivalent to deflateEnd followed by deflateInit, so the stream is the same.
class Deflater {
 public:
  Deflater() = default;
  ~Deflater() { end(); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Returns a zlib status; Z_OK with `out` resized to the stream on success.
  int compress(int level, const unsigned char* data, std::size_t bytes,
               std::vector<unsigned char>& out) {
    int status = Z_OK;
    if (level_ != level) {
      end();
      stream_ = z_stream{};
      status = deflateInit(&stream_, level);
      if (status != Z_OK) return status;
      level_ = level;
    } else {
      status = deflateReset(&stream_);
      if (status != Z_OK) return status;
    }
    const uLong bound = deflateBound(&stream_, static_cast<uLong>(bytes));
    if (out.size() < bound) out.resize(bound);
    stream_.next_in = const_cast<Bytef*>(data);  // zlib does not write through it
    stream_.avail_in = static_cast<uInt>(bytes);
    stream_.next_out = out.data();
    stream_.avail_out = static_cast<uInt>(out.size());
    status = deflate(&stream_, Z_FINISH);
    if (status != Z_STREAM_END) return status == Z_OK ? Z_BUF_ERROR : status;
    out.resize(stream_.total_out);
    return Z_OK;
  }

 private:
  void end() {
    if (level_ >= 0) (void)deflateEnd(&stream_);
    level_ = -1;
  }
  z_stream stream_{};
  int level_ = -1;  // -1: no stream
};

}  // namespace

void filter_chunk(const ChunkFilter& filter, std::span<const unsigned char> chunk,
                  std::vector<unsigned char>& out, std::vector<unsigned char>& scratch) {
  const unsigned char* data = chunk.data();
  const std::size_t bytes = chunk.size();
  const std::size_t elements = bytes / 8;
  // H5Z_filter_shuffle leaves a chunk of one element as it is, and copies any
  // bytes after the last whole element unchanged.
  if (filter.shuffle && elements > 1) {
    scratch.resize(bytes);
    shuffle8(data, elements, scratch.data());
    std::memcpy(scratch.data() + elements * 8, data + elements * 8, bytes - elements * 8);
    data = scratch.data();
  }
  if (filter.deflate_level < 0) {
    out.assign(data, data + bytes);
    return;
  }
  // What H5Z_filter_deflate stores: compress2's zlib stream at the dataset's
  // level (which does not depend on the size of the large enough output buffer).
  int status = Z_OK;
  if (bytes > std::numeric_limits<uInt>::max() / 2) {
    uLongf size = compressBound(static_cast<uLong>(bytes));
    out.resize(size);
    status = compress2(out.data(), &size, data, static_cast<uLong>(bytes), filter.deflate_level);
    if (status == Z_OK) out.resize(size);
  } else {
    thread_local Deflater deflater;
    status = deflater.compress(filter.deflate_level, data, bytes, out);
  }
  if (status != Z_OK) {
    throw core::IoError(
        fmt::format("zlib cannot compress a chunk of {} bytes (zlib error {})", bytes, status));
  }
}

// ---------------------------------------------------------------- RowWriter

// Rows of one chunk row (all columns of the dataset) written so far.
struct RowWriter::Stage {
  Stage(hsize_t rows, hsize_t columns, double fill)
      : values(static_cast<std::size_t>(rows * columns), fill),
        written(static_cast<std::size_t>(rows), false) {}
  std::vector<double> values;  // rows x columns, the fill value where unwritten
  std::vector<bool> written;
  hsize_t count = 0;  // rows written
};

// One chunk row to store: its rows (row `chunk_row * chunk_rows_` first),
// row-major with a stride of columns_.
struct RowWriter::Job {
  hsize_t chunk_row = 0;
  const double* rows = nullptr;
};

RowWriter::~RowWriter() = default;
RowWriter::RowWriter(RowWriter&& other) noexcept = default;
RowWriter& RowWriter::operator=(RowWriter&& other) noexcept = default;

RowWriter::RowWriter(Dataset dataset, bool direct) : dataset_(std::move(dataset)) {
  const std::vector<hsize_t> shape = dataset_.dims();
  if (shape.size() != 1 && shape.size() != 2) {
    throw core::InvariantViolation(fmt::format("RowWriter for '{}' in '{}', which has rank {}",
                                               dataset_.name(), dataset_.file().string(),
                                               shape.size()));
  }
  rank_ = static_cast<int>(shape.size());
  rows_ = shape[0];
  columns_ = rank_ == 2 ? shape[1] : 1;
  if (!direct || rows_ == 0 || columns_ == 0) return;

  auto fail_here = [&](std::string_view action) {
    hdf5::fail(action, dataset_.file(), dataset_.name());
  };
  const PropertyList create(H5Dget_create_plist(dataset_.id()));
  if (!create) fail_here("cannot get the creation properties of");
  if (H5Pget_layout(create.id()) != H5D_CHUNKED) return;
  hsize_t chunk[2] = {0, 0};
  if (H5Pget_chunk(create.id(), 2, chunk) != rank_) return;
  unsigned options = 0;
  if (H5Pget_chunk_opts(create.id(), &options) < 0) fail_here("cannot get the chunk options of");
  if ((options & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) != 0) return;

  // Only the pipelines ChunkFilter reproduces: [shuffle] [deflate], in that order.
  const int filters = H5Pget_nfilters(create.id());
  if (filters < 0) fail_here("cannot get the filters of");
  ChunkFilter filter;
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0;
    std::size_t values = 4;
    unsigned value[4] = {0, 0, 0, 0};
    const H5Z_filter_t id = H5Pget_filter2(create.id(), static_cast<unsigned>(i), &flags,
                                           &values, value, 0, nullptr, nullptr);
    if (id == H5Z_FILTER_SHUFFLE && i == 0 && values >= 1 && value[0] == 8) {
      filter.shuffle = true;
    } else if (id == H5Z_FILTER_DEFLATE && i == filters - 1 && values >= 1 && value[0] <= 9) {
      filter.deflate_level = static_cast<int>(value[0]);
    } else {
      return;
    }
  }
  // Stored as the native double, so the bytes in memory are the bytes in the file.
  const Datatype type(H5Dget_type(dataset_.id()));
  if (!type) fail_here("cannot get the type of");
  const htri_t native = H5Tequal(type.id(), H5T_NATIVE_DOUBLE);
  if (native < 0) fail_here("cannot compare the type of");
  if (native == 0) return;
  // The fill value HDF5 pads a new chunk with (H5D__chunk_lock): the default
  // (0) or the user's, unless fill values are never written.
  H5D_fill_time_t fill_time = H5D_FILL_TIME_IFSET;
  H5D_fill_value_t fill_status = H5D_FILL_VALUE_UNDEFINED;
  if (H5Pget_fill_time(create.id(), &fill_time) < 0 ||
      H5Pfill_value_defined(create.id(), &fill_status) < 0) {
    fail_here("cannot get the fill value of");
  }
  if (fill_time == H5D_FILL_TIME_NEVER || fill_status == H5D_FILL_VALUE_UNDEFINED) return;
  if (H5Pget_fill_value(create.id(), H5T_NATIVE_DOUBLE, &fill_) < 0) {
    fail_here("cannot get the fill value of");
  }

  filter_ = filter;
  chunk_rows_ = chunk[0];
  chunk_columns_ = rank_ == 2 ? chunk[1] : 1;
  // Chunks already in the file (a dataset written before) are only merged into.
  const bool has_data = H5Dget_storage_size(dataset_.id()) > 0;
  stored_.assign(static_cast<std::size_t>((rows_ + chunk_rows_ - 1) / chunk_rows_), has_data);
  direct_ = true;
}

void RowWriter::write_rows(hsize_t first_row, hsize_t rows, std::span<const double> values) {
  if (!direct_) {
    dataset_.write_rows(first_row, rows, values);
    return;
  }
  if (first_row > rows_ || rows > rows_ - first_row) {
    throw core::InvariantViolation(fmt::format("rows [{}, {}) out of range for '{}' in '{}' ({} rows)",
                                               first_row, first_row + rows, dataset_.name(),
                                               dataset_.file().string(), rows_));
  }
  if (values.size() != rows * columns_) {
    throw core::InvariantViolation(fmt::format(
        "writing {} values to rows [{}, {}) of '{}' in '{}', which need {}", values.size(),
        first_row, first_row + rows, dataset_.name(), dataset_.file().string(), rows * columns_));
  }
  if (rows == 0) return;

  std::vector<Job> jobs;                               // whole chunk rows to store
  std::vector<hsize_t> completed;                      // stages that became whole
  std::vector<std::pair<hsize_t, hsize_t>> merges;     // (first, rows) for H5Dwrite
  const hsize_t last = (first_row + rows - 1) / chunk_rows_;
  for (hsize_t c = first_row / chunk_rows_; c <= last; ++c) {
    const hsize_t begin = c * chunk_rows_;
    const hsize_t end = std::min(begin + chunk_rows_, rows_);
    const hsize_t from = std::max(first_row, begin);
    const hsize_t to = std::min(first_row + rows, end);
    const double* source = values.data() + (from - first_row) * columns_;
    if (from == begin && to == end) {  // every row of the chunk row: no staging
      staged_.erase(c);
      jobs.push_back({c, source});
      continue;
    }
    if (stored_[static_cast<std::size_t>(c)]) {  // already in the file: HDF5 merges
      merges.emplace_back(from, to - from);
      continue;
    }
    std::unique_ptr<Stage>& slot = staged_[c];
    if (!slot) slot = std::make_unique<Stage>(end - begin, columns_, fill_);
    Stage& stage = *slot;
    std::copy(source, source + (to - from) * columns_,
              stage.values.begin() + static_cast<std::ptrdiff_t>((from - begin) * columns_));
    for (hsize_t r = from - begin; r < to - begin; ++r) {
      if (!stage.written[static_cast<std::size_t>(r)]) {
        stage.written[static_cast<std::size_t>(r)] = true;
        ++stage.count;
      }
    }
    if (stage.count == end - begin) {
      jobs.push_back({c, stage.values.data()});
      completed.push_back(c);
    }
  }
  store(jobs);
  for (hsize_t c : completed) staged_.erase(c);
  for (const auto& [from, count] : merges) {
    dataset_.write_rows(from, count, values.subspan(static_cast<std::size_t>((from - first_row) * columns_),
                                                    static_cast<std::size_t>(count * columns_)));
  }
}

void RowWriter::store(const std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  const hsize_t per_row = (columns_ + chunk_columns_ - 1) / chunk_columns_;
  const std::size_t tasks = jobs.size() * static_cast<std::size_t>(per_row);
  const std::size_t chunk_elements = static_cast<std::size_t>(chunk_rows_ * chunk_columns_);
  std::vector<std::vector<unsigned char>>& filtered = filtered_;  // reused between calls
  if (filtered.size() < tasks) filtered.resize(tasks);

  // Filters chunk `task`; makes no HDF5 call, so it may run on any thread.
  auto filter_one = [&](std::size_t task) {
    thread_local std::vector<double> padded;
    thread_local std::vector<unsigned char> scratch;
    const Job& job = jobs[task / per_row];
    const hsize_t first_column = (task % per_row) * chunk_columns_;
    const hsize_t begin = job.chunk_row * chunk_rows_;
    const hsize_t rows_here = std::min(chunk_rows_, rows_ - begin);
    const hsize_t columns_here = std::min(chunk_columns_, columns_ - first_column);
    const double* chunk = job.rows;
    if (rows_here != chunk_rows_ || columns_here != chunk_columns_ ||
        chunk_columns_ != columns_) {
      // An edge chunk, or one of several across a row: gather it, padded with
      // the fill value as HDF5 pads the part outside the dataset.
      padded.assign(chunk_elements, fill_);
      for (hsize_t r = 0; r < rows_here; ++r) {
        const double* row = job.rows + r * columns_ + first_column;
        std::copy(row, row + columns_here, padded.data() + r * chunk_columns_);
      }
      chunk = padded.data();
    }
    filter_chunk(filter_,
                 std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(chunk),
                                                chunk_elements * sizeof(double)),
                 filtered[task], scratch);
  };
  if (tasks == 1) {
    filter_one(0);
  } else {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, tasks, 1),
                      [&](const tbb::blocked_range<std::size_t>& range) {
                        for (std::size_t task = range.begin(); task != range.end(); ++task) {
                          filter_one(task);
                        }
                      });
  }

  // HDF5 calls stay on this thread, in a fixed order (the file is the same
  // whichever threads filtered the chunks).
  for (std::size_t task = 0; task < tasks; ++task) {
    const Job& job = jobs[task / per_row];
    const hsize_t offset[2] = {job.chunk_row * chunk_rows_, (task % per_row) * chunk_columns_};
    if (H5Dwrite_chunk(dataset_.id(), H5P_DEFAULT, 0, offset, filtered[task].size(),
                       filtered[task].data()) < 0) {
      hdf5::fail(fmt::format("cannot write the chunk at row {}, column {} of", offset[0],
                             rank_ == 2 ? offset[1] : 0),
                 dataset_.file(), dataset_.name());
    }
    stored_[static_cast<std::size_t>(job.chunk_row)] = true;
  }
}

void RowWriter::flush() {
  if (!direct_ || staged_.empty()) return;
  std::vector<Job> jobs;
  jobs.reserve(staged_.size());
  for (const auto& [chunk_row, stage] : staged_) jobs.push_back({chunk_row, stage->values.data()});
  store(jobs);
  staged_.clear();
}

void RowWriter::close() {
  flush();
  dataset_.close();
}

// ---------------------------------------------------------------- File

File::File(hid_t id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}

File::~File() {
  if (id_ >= 0) (void)H5Fclose(id_);
}

File::File(File&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) (void)H5Fclose(id_);
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    path_ = std::move(other.path_);
  }
  return *this;
}

bool is_parallel(hid_t object) {
#if defined(DEFISIM_MPI)
  const hid_t file = H5Iget_file_id(object);
  if (file < 0) {
    (void)H5Eclear2(H5E_DEFAULT);
    return false;
  }
  const PropertyList access(H5Fget_access_plist(file));
  (void)H5Fclose(file);  // only the extra reference H5Iget_file_id took
  return access && H5Pget_driver(access.id()) == H5FD_MPIO;
#else
  (void)object;
  return false;
#endif
}

File File::create(const std::filesystem::path& path, bool parallel) {
  initialize();
  PropertyList access(H5Pcreate(H5P_FILE_ACCESS));
  // "semi": closing the file fails while any of its objects is still open, so
  // a forgotten handle is an error at commit() instead of a silently
  // unflushed file.
  if (!access || H5Pset_fclose_degree(access.id(), H5F_CLOSE_SEMI) < 0) {
    hdf5::fail("cannot prepare to create", path, {});
  }
  if (parallel) {
#if defined(DEFISIM_MPI)
    if (H5Pset_fapl_mpio(access.id(), MPI_COMM_WORLD, MPI_INFO_NULL) < 0) {
      hdf5::fail("cannot prepare MPI-IO to create", path, {});
    }
#else
    throw core::InvariantViolation(
        fmt::format("'{}': a parallel HDF5 file needs the MPI build (-DDEFISIM_MPI=ON)", path.string()));
#endif
  }
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.id());
  if (id < 0) hdf5::fail("cannot create HDF5 file", path, {});
  return File(id, path);
}

File File::open_read_write(const std::filesystem::path& path) {
  initialize();
  PropertyList access(H5Pcreate(H5P_FILE_ACCESS));
  if (!access || H5Pset_fclose_degree(access.id(), H5F_CLOSE_SEMI) < 0) {
    hdf5::fail("cannot prepare to open", path, {});
  }
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, access.id());
  if (id < 0) hdf5::fail("cannot open HDF5 file for writing", path, {});
  return File(id, path);
}

File File::open_read_only(const std::filesystem::path& path) {
  initialize();
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) hdf5::fail("cannot open HDF5 file", path, {});
  return File(id, path);
}

int File::is_hdf5(const std::filesystem::path& path) {
  initialize();
  const htri_t result = H5Fis_hdf5(path.c_str());
  (void)H5Eclear2(H5E_DEFAULT);
  return result > 0 ? 1 : (result == 0 ? 0 : -1);
}

Group File::root() const {
  const hid_t group = H5Gopen2(id_, "/", H5P_DEFAULT);
  if (group < 0) hdf5::fail("cannot open the root group of", path_, {});
  return Group(group, path_, "/");
}

void File::flush() const {
  if (H5Fflush(id_, H5F_SCOPE_LOCAL) < 0) hdf5::fail("cannot flush", path_, {});
}

void File::close() {
  if (id_ < 0) return;
  const herr_t status = H5Fclose(id_);
  id_ = H5I_INVALID_HID;
  if (status < 0) hdf5::fail("cannot close", path_, {});
}

}  // namespace defisim::output::hdf5
