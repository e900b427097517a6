#pragma once
// A small RAII layer over the HDF5 C API, just what the results file needs.
//
// Every handle is move-only and closes its HDF5 id on destruction. Every HDF5
// failure is turned into core::IoError naming the file and the object (and
// the innermost message from HDF5's error stack); HDF5's automatic printing of
// its error stack to stderr is switched off by initialize(), which every entry
// point (File::create, File::open_read_only) calls.
//
// Only the C API is used (not the C++ wrapper), so the same code serves a
// parallel HDF5 build: File::create(path, true) opens the file with MPI-IO on
// every rank of MPI_COMM_WORLD (the MPI build only). In such a file, creating
// groups, datasets and attributes and closing them are collective (every rank
// calls them in the same order with the same arguments), while writing rows
// of an unfiltered dataset is independent.
//
// Thread safety: Debian's serial libhdf5 is NOT thread-safe. Nothing in this
// layer locks: all calls into it (and so into ResultsWriter/ResultsReader)
// must come from one thread at a time. The engine hands finished blocks of
// paths to a single writer thread (or serialises calls) for that reason.
// RowWriter compresses chunks on oneTBB's threads, but those tasks never call
// HDF5: every HDF5 call stays on the thread that called RowWriter.
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace defisim::output::hdf5 {

// Idempotent. Silences HDF5's automatic error-stack printing
// (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr)).
void initialize();

// Throws core::IoError: "<action> '<object>' in '<file>': <HDF5 detail>".
// Consumes (clears) HDF5's current error stack.
[[noreturn]] void fail(std::string_view action, const std::filesystem::path& file,
                       std::string_view object);

// Owner of one HDF5 id of a kind closed by `Close`.
template <herr_t (*Close)(hid_t)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  explicit operator bool() const { return valid(); }
  // Closes now; returns HDF5's status (negative on failure), 0 if nothing open.
  herr_t close() noexcept {
    herr_t status = 0;
    if (id_ >= 0) status = Close(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }
  void reset() noexcept { (void)close(); }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using Dataspace = Handle<H5Sclose>;
using PropertyList = Handle<H5Pclose>;
using Datatype = Handle<H5Tclose>;
using Attribute = Handle<H5Aclose>;

// A variable-length UTF-8 string type (what h5py reads as str).
Datatype utf8_string_type();

// A named HDF5 object that carries attributes: a group or a dataset.
// Knows its file path and its HDF5 path for error messages.
class Object {
 public:
  Object() = default;
  Object(hid_t id, herr_t (*closer)(hid_t), std::filesystem::path file, std::string name);
  ~Object();
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  Object(Object&& other) noexcept;
  Object& operator=(Object&& other) noexcept;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  const std::filesystem::path& file() const { return file_; }
  const std::string& name() const { return name_; }  // HDF5 path, e.g. "/scenarios/0"
  // Closes now and throws core::IoError if HDF5 reports a failure.
  void close();

  // Attributes. Writing replaces an existing attribute of the same name.
  bool has_attribute(const std::string& attribute) const;
  std::vector<std::string> attribute_names() const;
  void write_string_attribute(const std::string& attribute, std::string_view value) const;
  void write_strings_attribute(const std::string& attribute,
                               const std::vector<std::string>& values) const;
  void write_double_attribute(const std::string& attribute, double value) const;
  void write_uint64_attribute(const std::string& attribute, std::uint64_t value) const;
  void write_int_attribute(const std::string& attribute, std::int64_t value) const;  // int64
  void write_ints_attribute(const std::string& attribute, std::span<const int> values) const;  // int32[n]

  // Reading converts numeric types as HDF5 does; strings may be variable or
  // fixed length. A missing attribute or a wrong class throws core::IoError.
  std::string read_string_attribute(const std::string& attribute) const;
  std::vector<std::string> read_strings_attribute(const std::string& attribute) const;
  double read_double_attribute(const std::string& attribute) const;
  std::uint64_t read_uint64_attribute(const std::string& attribute) const;
  std::vector<std::int64_t> read_ints_attribute(const std::string& attribute) const;
  bool attribute_is_string(const std::string& attribute) const;
  // Any attribute as display text: strings as is, numbers in shortest round-trip
  // form, arrays as "[a, b]".
  std::string read_attribute_as_text(const std::string& attribute) const;

 protected:
  std::string child_name(std::string_view child) const;
  [[noreturn]] void fail(std::string_view action, std::string_view object) const;
  [[noreturn]] void fail(std::string_view action) const;

 private:
  Attribute open_attribute(const std::string& attribute) const;
  Attribute create_attribute(const std::string& attribute, hid_t type, hid_t space) const;
  void reset() noexcept;

  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
  std::filesystem::path file_;
  std::string name_;
};

// Whether `object` belongs to a file opened with MPI-IO (File::create(path, true)).
bool is_parallel(hid_t object);

enum class ElementType { float64, uint64 };

struct DatasetOptions {
  // Chunk shape; empty = contiguous layout (no compression possible). A chunk
  // must be positive in every dimension and (for fixed-size dims) no larger
  // than the dataset; make_chunk_* below compute sensible ones.
  std::vector<hsize_t> chunk;
  bool compress = true;        // shuffle + deflate (only with a chunk)
  // Level 1: with the shuffle filter it keeps most of the size gain of higher
  // levels at a fraction of the time, and writing must not be the bottleneck.
  int deflate_level = 1;
  bool extendible = false;     // first dimension unlimited (needs a chunk)
  bool fill_nan = false;       // float64 only: unwritten elements read as NaN
  std::size_t chunk_cache_bytes = 0;  // 0 = HDF5's default (1 MiB)
};

// Chunk for a 1-D float64/uint64 dataset of `length` elements: min(length, 65536).
std::vector<hsize_t> make_chunk_1d(hsize_t length, hsize_t max_chunk = 65536);
// Chunk for a rows x columns 8-byte dataset: whole-row chunks of at most
// target_bytes holding a power-of-two number of rows (at least one row, at
// most `rows`; very long rows are split across columns too). Power-of-two
// rows mean that blocks of a power-of-two number of rows (the engine writes
// 512 paths at a time by default) fill whole chunks, which RowWriter can
// filter in parallel and store directly.
std::vector<hsize_t> make_chunk_rows(hsize_t rows, hsize_t columns,
                                     hsize_t target_bytes = 128 * 1024);

class Dataset : public Object {
 public:
  Dataset() = default;
  Dataset(hid_t id, std::filesystem::path file, std::string name);

  std::vector<hsize_t> dims() const;
  bool is_string() const;
  // Grows an extendible dataset (new dims must cover the current ones).
  void extend(const std::vector<hsize_t>& new_dims) const;

  // Whole dataset; the span must have exactly product(dims) elements.
  void write(std::span<const double> values) const;
  void write(std::span<const std::uint64_t> values) const;
  void write_strings(const std::vector<std::string>& values) const;
  // Rows [first_row, first_row + rows) of a 1-D or 2-D dataset; values is
  // row-major rows x (columns of the dataset).
  void write_rows(hsize_t first_row, hsize_t rows, std::span<const double> values) const;
  void write_rows(hsize_t first_row, hsize_t rows, std::span<const std::uint64_t> values) const;

  std::vector<double> read_doubles() const;
  std::vector<std::uint64_t> read_uint64s() const;
  std::vector<double> read_double_rows(hsize_t first_row, hsize_t rows) const;
  std::vector<std::string> read_strings() const;

 private:
  void write_raw(hid_t memory_type, const void* data, std::size_t count) const;
  void write_rows_raw(hid_t memory_type, hsize_t first_row, hsize_t rows, const void* data,
                      std::size_t count) const;
  void read_raw(hid_t memory_type, void* data, std::size_t count) const;
  void read_rows_raw(hid_t memory_type, hsize_t first_row, hsize_t rows, void* data,
                     std::size_t count) const;
  // The selection for rows [first_row, first_row + rows); returns element count.
  hsize_t select_rows(const Dataspace& file_space, hsize_t first_row, hsize_t rows,
                      std::vector<hsize_t>& memory_dims) const;
};

// ---------------------------------------------------------------- chunk filters
//
// The filters DatasetOptions can set, reproduced outside HDF5: the shuffle
// filter for 8-byte elements (byte k of every element together, k = 0..7, in
// element order, as H5Z_filter_shuffle does), then deflate (the zlib stream of
// compress2 at the dataset's level, as H5Z_filter_deflate does). The output is
// byte for byte what HDF5's own pipeline would store for the chunk, so a chunk
// filtered here and stored with H5Dwrite_chunk (filter mask 0) reads back
// through any HDF5 reader (h5py, h5dump) exactly as if H5Dwrite had written it.
// filter_chunk makes no HDF5 call: it may run on any thread, in parallel.
struct ChunkFilter {
  bool shuffle = false;
  int deflate_level = -1;  // -1: no deflate filter
};

// Filters one whole chunk (`chunk` holds all of it, the unused part of an edge
// chunk already padded with the fill value) of 8-byte elements into `out`;
// `scratch` is reused between calls. Throws core::IoError if zlib fails.
void filter_chunk(const ChunkFilter& filter, std::span<const unsigned char> chunk,
                  std::vector<unsigned char>& out, std::vector<unsigned char>& scratch);

// Writes rows of a chunked, fixed-size, 1-D or 2-D float64 dataset: what the
// results file's outcome and series datasets are.
//
// direct (the default), for a dataset whose filters and types ChunkFilter
// reproduces (shuffle and/or deflate, little-endian float64 stored as
// native double, fill time "if set" or "alloc", edge chunks filtered): every
// chunk whose rows have all been written is filtered here -- several chunks at
// once with oneTBB -- and then stored with H5Dwrite_chunk, one at a time, on
// the calling thread (the only thread that calls HDF5). Rows of a chunk that
// arrive in separate calls are staged in memory until the chunk is complete
// or flush() is called; the unused part of edge chunks and rows never written
// get the dataset's fill value, exactly as HDF5 pads them. A write covering
// part of a chunk that is already in the file goes through H5Dwrite (HDF5
// merges it). Otherwise every write is a plain Dataset::write_rows, filtered
// by HDF5 inside H5Dwrite. Both ways store identical chunks.
//
// Staged rows reach the file only when their chunk is complete or at flush():
// call flush() (or close()) before reading the dataset back. Destroying a
// RowWriter discards staged rows (it calls no HDF5 function but closing the
// dataset), which is what an abandoned results file needs. The dataset must
// not be extended while a RowWriter writes it.
class RowWriter {
 public:
  RowWriter() = default;
  explicit RowWriter(Dataset dataset, bool direct = true);
  ~RowWriter();
  RowWriter(const RowWriter&) = delete;
  RowWriter& operator=(const RowWriter&) = delete;
  RowWriter(RowWriter&& other) noexcept;
  RowWriter& operator=(RowWriter&& other) noexcept;

  const Dataset& dataset() const { return dataset_; }
  // True when chunks are filtered here and stored with H5Dwrite_chunk.
  bool direct() const { return direct_; }
  // Rows [first_row, first_row + rows); values is row-major rows x columns.
  void write_rows(hsize_t first_row, hsize_t rows, std::span<const double> values);
  // Stores every staged (partly written) chunk, padded with the fill value.
  void flush();
  // flush(), then closes the dataset (throwing core::IoError on failure).
  void close();

 private:
  struct Stage;
  struct Job;
  void store(const std::vector<Job>& jobs);

  Dataset dataset_;
  bool direct_ = false;
  ChunkFilter filter_;
  double fill_ = 0;
  hsize_t rows_ = 0;
  hsize_t columns_ = 1;
  hsize_t chunk_rows_ = 1;
  hsize_t chunk_columns_ = 1;
  int rank_ = 1;
  std::vector<bool> stored_;  // per chunk row: its chunks are in the file
  std::map<hsize_t, std::unique_ptr<Stage>> staged_;  // chunk row -> staged rows
  std::vector<std::vector<unsigned char>> filtered_;  // filtered chunks, reused
};

class Group : public Object {
 public:
  Group() = default;
  Group(hid_t id, std::filesystem::path file, std::string name);

  bool exists(const std::string& child) const;  // a direct child link
  std::vector<std::string> child_names() const;  // in name order
  Group create_group(const std::string& child) const;
  Group open_group(const std::string& child) const;
  Dataset create_dataset(const std::string& child, ElementType type,
                         const std::vector<hsize_t>& dims, const DatasetOptions& options) const;
  Dataset create_string_dataset(const std::string& child, hsize_t length) const;
  Dataset open_dataset(const std::string& child) const;

  // Convenience: create (contiguous, or chunked+compressed when long) and write.
  Dataset write_dataset(const std::string& child, std::span<const double> values) const;
  Dataset write_dataset(const std::string& child, std::span<const std::uint64_t> values) const;
  Dataset write_strings_dataset(const std::string& child,
                                const std::vector<std::string>& values) const;
};

class File {
 public:
  File() = default;
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;

  // Creates (truncating any existing file of that name). parallel: with
  // MPI-IO, collectively by every rank of MPI_COMM_WORLD (MPI build only).
  static File create(const std::filesystem::path& path, bool parallel = false);
  // Opens an existing file for reading and writing (by this process alone).
  static File open_read_write(const std::filesystem::path& path);
  // Opens read-only. Throws core::IoError if it cannot be opened.
  static File open_read_only(const std::filesystem::path& path);
  // > 0 HDF5, 0 not HDF5, < 0 cannot be read.
  static int is_hdf5(const std::filesystem::path& path);

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  const std::filesystem::path& path() const { return path_; }
  Group root() const;
  void flush() const;
  // Closes now (all objects of the file must be closed first) and throws
  // core::IoError if HDF5 reports a failure.
  void close();

 private:
  File(hid_t id, std::filesystem::path path);
  hid_t id_ = H5I_INVALID_HID;
  std::filesystem::path path_;
};

}  // namespace defisim::output::hdf5
