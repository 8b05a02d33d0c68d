// DataModel API: metadata validation (warn/strict), arrays (ndim, dtype cast, adopt), tables,
// CRDS parameters, schema lookups, info/convert commands, bad input files.
#include <fitsio.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <vector>

#include "stpipe/asdf/asdf_file.h"
#include "stpipe/cli/commands.h"
#include "stpipe/io/fits.h"
#include "stpipe/models/datamodel.h"
#include "stpipe/models/dynamic_dq.h"
#include "stpipe/util/atomic_file.h"
#include "stpipe/util/error.h"
#include "test_support.h"

using namespace stpipe;
using namespace stpipe::models;
using stpipe::testing::shared_data;
using stpipe::testing::TempDir;

namespace {
struct Collect {
  Collect() {
    old = set_warning_handler([this](const std::string& m) { messages.push_back(m); });
  }
  ~Collect() { set_warning_handler(old); }
  std::vector<std::string> messages;
  WarningHandler old;
};
}  // namespace

TEST(Meta, SetGetAndValidationWarning) {
  Collect w;
  RampModel m;
  EXPECT_TRUE(m.set_meta("meta.instrument.name", "NIRCAM"));
  EXPECT_EQ(m.get_meta("meta.instrument.name").value(), "NIRCAM");
  EXPECT_FALSE(m.get_meta("meta.instrument.filter").has_value());
  EXPECT_TRUE(m.schema_has("meta.exposure.nints"));
  EXPECT_FALSE(m.schema_has("meta.exposure.no_such_thing"));
  // Invalid enum value: warning, not stored.
  EXPECT_FALSE(m.set_meta("meta.instrument.name", "HUBBLE"));
  EXPECT_EQ(m.get_meta("meta.instrument.name").value(), "NIRCAM");
  ASSERT_EQ(w.messages.size(), 1u);
  EXPECT_NE(w.messages[0].find("meta.instrument.name"), std::string::npos);
  EXPECT_NE(w.messages[0].find("'HUBBLE' is not one of"), std::string::npos);
  // Wrong type: float for an integer.
  EXPECT_FALSE(m.set_meta("meta.exposure.nints", 2.5));
  EXPECT_FALSE(m.get_meta("meta.exposure.nints").has_value());
  EXPECT_TRUE(m.set_meta("meta.exposure.nints", 3));
  EXPECT_EQ(m.meta_int("meta.exposure.nints"), 3);
  // An int is a number.
  EXPECT_TRUE(m.set_meta("meta.target.ra", 12));
  EXPECT_FALSE(m.set_meta("meta.target.ra", "foo"));
  EXPECT_FALSE(m.set_meta("meta.cal_step.jump", "DONE"));
  EXPECT_TRUE(m.set_meta("meta.cal_step.jump", "COMPLETE"));
  // Null removes.
  EXPECT_TRUE(m.set_meta("meta.cal_step.jump", nullptr));
  EXPECT_FALSE(m.get_meta("meta.cal_step.jump").has_value());
}

TEST(Meta, StrictModeThrows) {
  RampModel m;
  m.set_strict_validation(true);
  try {
    m.set_meta("meta.instrument.name", "HUBBLE");
    FAIL() << "no exception";
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("meta.instrument.name"), std::string::npos);
  }
  setenv("STPIPE_STRICT_VALIDATION", "1", 1);
  ImageModel strict;
  unsetenv("STPIPE_STRICT_VALIDATION");
  EXPECT_TRUE(strict.strict_validation());
  EXPECT_THROW(strict.set_meta("meta.exposure.ngroups", "ten"), ValidationError);
  ImageModel lax;
  EXPECT_FALSE(lax.strict_validation());
}

TEST(Meta, CrdsParametersStringification) {
  RampModel m;
  m.set_meta("meta.instrument.name", "NIRCAM");
  m.set_meta("meta.exposure.ngroups", 10);
  m.set_meta("meta.exposure.frame_time", 10.73677);
  m.set_meta("meta.exposure.group_time", 100.0);
  m.set_meta("meta.exposure.gain_factor", 1e-5);
  m.set_meta("meta.visit.tsovisit", false);
  auto p = m.crds_parameters();
  EXPECT_EQ(p["META.INSTRUMENT.NAME"], "NIRCAM");
  EXPECT_EQ(p["META.EXPOSURE.NGROUPS"], "10");
  EXPECT_EQ(p["META.EXPOSURE.FRAME_TIME"], "10.73677");
  EXPECT_EQ(p["META.EXPOSURE.GROUP_TIME"], "100.0");
  EXPECT_EQ(p["META.EXPOSURE.GAIN_FACTOR"], "1e-05");
  EXPECT_EQ(p["META.VISIT.TSOVISIT"], "False");
}

TEST(Meta, PythonFloatStr) {
  EXPECT_EQ(python_float_str(0.1), "0.1");
  EXPECT_EQ(python_float_str(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(python_float_str(1e16), "1e+16");
  EXPECT_EQ(python_float_str(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(python_float_str(0.0001), "0.0001");
  EXPECT_EQ(python_float_str(0.00001234), "1.234e-05");
  EXPECT_EQ(python_float_str(-2.5), "-2.5");
  EXPECT_EQ(python_float_str(0.0), "0.0");
}

TEST(Arrays, NdimDtypeAndAccess) {
  ImageModel m;
  EXPECT_FALSE(m.has_array("data"));
  try {
    m.array("data");
    FAIL();
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("ImageModel"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("data"), std::string::npos);
  }
  try {
    m.set_array("data", Array::allocate(DType::kFloat32, {2, 3, 4}));
    FAIL();
  } catch (const ValidationError& e) {
    EXPECT_NE(
        std::string(e.what()).find("Array has wrong number of dimensions.  Expected 2, got 3"),
        std::string::npos);
  }
  Array d = Array::allocate(DType::kFloat64, {3, 4});
  d.set_double(5, 2.5);
  m.set_array("data", d);
  EXPECT_EQ(m.array("data").dtype(), DType::kFloat32);  // cast to the schema's type
  EXPECT_FLOAT_EQ(m.data<float>("data")[5], 2.5f);
  EXPECT_THROW(m.data<double>("data"), ValidationError);
  // Matching dtype: stored without copying.
  Array f = Array::allocate(DType::kFloat32, {3, 4});
  const void* raw = f.raw();
  m.set_array("err", f);
  EXPECT_EQ(m.array("err").raw(), raw);
  // ensure_array allocates from the schema default with the primary array's shape.
  Array& dq = m.ensure_array("dq");
  EXPECT_EQ(dq.dtype(), DType::kUint32);
  EXPECT_EQ(dq.shape(), (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(m.array_names(), (std::vector<std::string>{"data", "dq", "err"}));

  SaturationModel sat;
  sat.set_array("data", Array::allocate(DType::kFloat32, {2, 2}));
  sat.remove_array("data");
  EXPECT_THROW(sat.ensure_array("dq"), ValidationError);
  sat.ensure_array("data", {2, 5});
  EXPECT_FLOAT_EQ(sat.data<float>("data")[9], 100000.0f);  // schema default

  RampModel r;
  r.set_array("data", Array::allocate(DType::kFloat32, {2, 3, 4, 5}));
  EXPECT_EQ(r.ensure_array("pixeldq").shape(), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(r.ensure_array("zeroframe").shape(), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_EQ(r.ensure_array("groupdq").dtype(), DType::kUint8);
}

TEST(Arrays, AdoptRunsDeleterOnce) {
  static int freed = 0;
  float* buf = new float[6]{1, 2, 3, 4, 5, 6};
  {
    Array a = Array::adopt(DType::kFloat32, {2, 3}, buf, [](void* p) {
      delete[] static_cast<float*>(p);
      ++freed;
    });
    ImageModel m;
    m.set_array("data", a);
    EXPECT_EQ(m.data<float>("data"), buf);
    EXPECT_EQ(freed, 0);
  }
  EXPECT_EQ(freed, 1);
}

TEST(Tables, NumericAndText) {
  Table t;
  t.add_numeric("BIT", DType::kInt32, {0, 1});
  t.add_numeric("VALUE", DType::kUint32, {1, 2});
  t.add_text("NAME", 40, {"DO_NOT_USE", "SATURATED"});
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.numbers("value"), (std::vector<double>{1, 2}));
  EXPECT_EQ(t.strings("NAME")[1], "SATURATED");
  EXPECT_THROW(t.add_numeric("X", DType::kInt32, {1}), ValidationError);
  EXPECT_THROW(t.numbers("NAME"), ValidationError);

  MaskModel m;
  m.set_array("dq", Array::allocate(DType::kUint32, {4, 4}));
  m.set_table("dq_def", t);
  m.set_meta("meta.reftype", "MASK");
  TempDir dir;
  m.save(dir / "mask.fits");
  auto back = open(dir / "mask.fits");
  EXPECT_EQ(back->model_type(), "MaskModel");
  EXPECT_TRUE(back->table("dq_def").equals(t));
}

TEST(Tables, ThroughAsdfFilesAndTheFitsAsdfExtension) {
  Collect w;
  Table dq_def;
  dq_def.add_numeric("BIT", DType::kInt32, {0, 1, 2});
  dq_def.add_numeric("VALUE", DType::kUint32, {1, 2, 4});
  dq_def.add_text("NAME", 40, {"DO_NOT_USE", "SATURATED", "JUMP_DET"});
  dq_def.add_text("DESCRIPTION", 80, {"Bad pixel. Do not use.", "Saturated", ""});
  Table times;
  times.add_numeric("integration_number", DType::kInt32, {1, 2});
  times.add_numeric("int_start_MJD_UTC", DType::kFloat64, {59000.123456789012, 59000.5});
  times.add_numeric("flag", DType::kBool8, {1, 0});
  Column vec;  // a vector cell: 3 int16 per row
  vec.name = "triple";
  vec.dtype = DType::kInt16;
  vec.repeat = 3;
  for (std::int16_t v : {1, -2, 3, 4, 5, -32768}) {
    const auto* b = reinterpret_cast<const unsigned char*>(&v);
    vec.bytes.insert(vec.bytes.end(), b, b + 2);
  }
  times.add_column(vec, 2);
  RampModel m;
  m.set_array("data", Array::allocate(DType::kFloat32, {2, 2, 3, 4}));
  m.set_table("int_times", times);
  m.set_table("dq_def", dq_def);  // outside the ramp schema: kept as an extra table
  TempDir dir;
  m.save(dir / "t.asdf");
  auto a = open(dir / "t.asdf");
  ASSERT_TRUE(a->has_table("int_times"));
  EXPECT_TRUE(a->table("int_times").equals(times));
  EXPECT_TRUE(a->table("dq_def").equals(dq_def));
  // .asdf -> .fits -> .asdf keeps them too, and the FITS file's ASDF extension names the
  // BINTABLEs as stdatamodels does.
  a->save(dir / "t.fits");
  auto f = open(dir / "t.fits");
  EXPECT_TRUE(f->table("int_times").equals(times));
  // A table the ramp schema does not know comes back from FITS as an unknown HDU, kept.
  ASSERT_EQ(f->fits_extras().hdus.size(), 1u);
  EXPECT_EQ(f->fits_extras().hdus[0].extname, "DQ_DEF");
  EXPECT_TRUE(f->fits_extras().hdus[0].table->equals(dq_def));
  auto tree = asdf::AsdfFile::open(dir / "t.asdf").tree();
  EXPECT_EQ(tree["int_times"]["datatype"][1]["datatype"], "float64");
  EXPECT_EQ(tree["int_times"]["datatype"][3]["shape"], Json::array({3}));
  f->fits_extras().cards["PRIMARY"].push_back({"MYKEY", 42, "a card the schema does not know"});
  f->fits_extras().history.push_back("kept through ASDF");
  f->save(dir / "t2.asdf");  // unknown HDUs, cards and HISTORY go under extra_fits
  auto b = open(dir / "t2.asdf");
  EXPECT_TRUE(b->table("int_times").equals(times));
  ASSERT_EQ(b->fits_extras().hdus.size(), 1u);
  EXPECT_TRUE(b->fits_extras().hdus[0].table->equals(dq_def));
  EXPECT_EQ(b->fits_extras().cards["PRIMARY"].at(0).value, 42);
  EXPECT_EQ(b->fits_extras().history, std::vector<std::string>{"kept through ASDF"});
  b->save(dir / "t3.fits");
  auto g = open(dir / "t3.fits");
  EXPECT_TRUE(g->fits_extras().hdus.at(0).table->equals(dq_def));
  EXPECT_TRUE(w.messages.empty()) << w.messages[0];
}

TEST(Files, OpenOptionsReadOnlyWhatIsAsked) {
  Collect w;
  DarkModel d;
  d.set_meta("meta.reftype", "DARK");
  d.set_meta("meta.exposure.nframes", 1);
  Array data = Array::allocate(DType::kFloat32, {5, 3, 4});
  for (std::size_t i = 0; i < data.size(); ++i) data.set_double(i, static_cast<double>(i));
  d.set_array("data", data);
  d.set_array("dq", Array::full(DType::kUint32, {3, 4}, 0));
  TempDir dir;
  d.save(dir / "dark.fits");
  OpenOptions header;
  header.arrays.emplace();
  auto h = open(dir / "dark.fits", header);
  EXPECT_EQ(h->model_type(), "DarkModel");
  EXPECT_TRUE(h->array_names().empty());
  EXPECT_EQ(h->meta_int("meta.exposure.nframes"), 1);
  EXPECT_TRUE(h->partial());
  EXPECT_THROW(h->save(dir / "dark.fits"), IoError);  // never over the complete file
  OpenOptions frames;
  frames.arrays = std::vector<std::string>{"data"};
  frames.planes = OpenOptions::PlaneRange{"data", 2, 2};
  for (const char* name : {"dark.fits", "dark.asdf"}) {
    if (std::string(name) == "dark.asdf") d.save(dir / name);
    auto p = open_as(dir / name, "DarkModel", frames);
    ASSERT_TRUE(p->has_array("data")) << name;
    EXPECT_FALSE(p->has_array("dq")) << name;
    EXPECT_EQ(p->array("data").shape(), (std::vector<std::int64_t>{2, 3, 4})) << name;
    EXPECT_EQ(p->array("data").get_double(0), 24.0) << name;  // plane 2 starts at 2*12
    EXPECT_EQ(p->array("data").get_double(23), 47.0) << name;
  }
  frames.planes = OpenOptions::PlaneRange{"data", 4, 2};
  EXPECT_THROW(open_as(dir / "dark.fits", "DarkModel", frames), IoError);
  // A window of rows 1..2 and columns 1..3 of every plane (and of the 2-D dq), alone and with
  // a plane range.
  OpenOptions band;
  band.arrays = std::vector<std::string>{"data", "dq"};
  band.window = OpenOptions::Window{1, 2, 1, 3};
  for (const char* name : {"dark.fits", "dark.asdf"}) {
    auto p = open_as(dir / name, "DarkModel", band);
    ASSERT_TRUE(p->has_array("data")) << name;
    EXPECT_EQ(p->array("data").shape(), (std::vector<std::int64_t>{5, 2, 3})) << name;
    EXPECT_EQ(p->array("dq").shape(), (std::vector<std::int64_t>{2, 3})) << name;
    for (std::int64_t pl = 0; pl < 5; ++pl)
      for (std::int64_t y = 0; y < 2; ++y)
        for (std::int64_t x = 0; x < 3; ++x)
          EXPECT_EQ(p->array("data").get_double((pl * 2 + y) * 3 + x),
                    static_cast<double>(pl * 12 + (y + 1) * 4 + x + 1))
              << name;
    EXPECT_TRUE(p->partial());
  }
  band.arrays = std::vector<std::string>{"data"};
  band.planes = OpenOptions::PlaneRange{"data", 3, 2};
  auto both = open_as(dir / "dark.fits", "DarkModel", band);
  EXPECT_EQ(both->array("data").shape(), (std::vector<std::int64_t>{2, 2, 3}));
  EXPECT_EQ(both->array("data").get_double(0), 3.0 * 12 + 4 + 1);
  band.planes.reset();
  band.window = OpenOptions::Window{2, 2, 0, 4};  // rows 2..3 of 3
  EXPECT_THROW(open_as(dir / "dark.fits", "DarkModel", band), IoError);
  EXPECT_THROW(open_as(dir / "dark.asdf", "DarkModel", band), IoError);
}

// Images of 4 MiB and more stored as they are held (float32 here; uint32 DQ with its BZERO)
// are read with pread and a parallel byte swap instead of through CFITSIO: the same values,
// whole, by planes, and by windows of whole rows (one run per plane), for 3-D and 4-D arrays.
TEST(Files, LargeImagesReadDirectly) {
  auto value = [](std::size_t i) {
    if (i % 977 == 0) return std::numeric_limits<float>::quiet_NaN();
    return static_cast<float>((static_cast<double>(i % 100003) - 5000.0) * 0.37);
  };
  auto same = [](float a, float b) { return std::isnan(a) ? std::isnan(b) : a == b; };
  TempDir dir;
  DarkModel d;
  d.set_meta("meta.reftype", "DARK");
  constexpr std::size_t ny = 1100, nx = 1000;
  Array data = Array::allocate(DType::kFloat32, {3, ny, nx});  // 13.2 MB
  float* v = data.data<float>();
  for (std::size_t i = 0; i < data.size(); ++i) v[i] = value(i);
  d.set_array("data", data);
  // uint32 DQ (stored as int32 with BZERO 2^31), 4.4 MB, high bits included.
  Array dq = Array::allocate(DType::kUint32, {ny, nx});
  auto* dv = dq.data<std::uint32_t>();
  for (std::size_t i = 0; i < dq.size(); ++i)
    dv[i] = static_cast<std::uint32_t>(i * 2654435761u) ^ (i % 3 == 0 ? 0x80000000u : 0u);
  d.set_array("dq", dq);
  d.save(dir / "big_dark.fits");
  auto whole = open_as(dir / "big_dark.fits", "DarkModel");
  const float* w = whole->array("data").data<float>();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < data.size(); ++i) bad += !same(w[i], v[i]);
  EXPECT_EQ(bad, 0u);
  const auto* wq = whole->array("dq").data<std::uint32_t>();
  bad = 0;
  for (std::size_t i = 0; i < dq.size(); ++i) bad += wq[i] != dv[i];
  EXPECT_EQ(bad, 0u);
  OpenOptions band;
  band.arrays = std::vector<std::string>{"data"};
  band.planes = OpenOptions::PlaneRange{"data", 1, 2};
  band.window = OpenOptions::Window{100, 600, 0, nx};  // whole rows: 2 x 600 x 1000 = 4.8 MB
  auto b = open_as(dir / "big_dark.fits", "DarkModel", band);
  ASSERT_EQ(b->array("data").shape(), (std::vector<std::int64_t>{2, 600, nx}));
  const float* bv = b->array("data").data<float>();
  bad = 0;
  for (std::size_t pl = 0; pl < 2; ++pl)
    for (std::size_t y = 0; y < 600; ++y)
      for (std::size_t x = 0; x < nx; ++x)
        bad += !same(bv[(pl * 600 + y) * nx + x], v[((pl + 1) * ny + y + 100) * nx + x]);
  EXPECT_EQ(bad, 0u);

  // 4-D: a ramp of 2 integrations x 3 groups, read by integrations and a band of rows.
  RampModel r;
  Array rd = Array::allocate(DType::kFloat32, {2, 3, 500, 800});  // 9.6 MB
  float* rv = rd.data<float>();
  for (std::size_t i = 0; i < rd.size(); ++i) rv[i] = value(i);
  r.set_array("data", rd);
  r.save(dir / "big_ramp.fits");
  OpenOptions ri;
  ri.arrays = std::vector<std::string>{"data"};
  ri.planes = OpenOptions::PlaneRange{"data", 1, 1};
  ri.window = OpenOptions::Window{0, 450, 0, 800};  // 3 x 450 x 800 = 4.3 MB
  auto q = open_as(dir / "big_ramp.fits", "RampModel", ri);
  ASSERT_EQ(q->array("data").shape(), (std::vector<std::int64_t>{1, 3, 450, 800}));
  const float* qv = q->array("data").data<float>();
  bad = 0;
  for (std::size_t g = 0; g < 3; ++g)
    for (std::size_t y = 0; y < 450; ++y)
      for (std::size_t x = 0; x < 800; ++x)
        bad += !same(qv[(g * 450 + y) * 800 + x], rv[((3 + g) * 500 + y) * 800 + x]);
  EXPECT_EQ(bad, 0u);

  // A raw uint16 ramp (BZERO 32768) opened as a RampModel: converted to float32 while read,
  // whole and by an integration and a band of rows; 0, 32767, 32768 and 65535 included.
  DataModel raw("Level1bModel", "core");
  Array words = Array::allocate(DType::kUint16, {2, 3, 500, 800});  // 4.8 MB, 9.6 MB as float
  auto* uv = words.data<std::uint16_t>();
  for (std::size_t i = 0; i < words.size(); ++i)
    uv[i] = i % 4 == 0 ? static_cast<std::uint16_t>(i % 5 == 0 ? 65535 : 32767 + i % 3)
                       : static_cast<std::uint16_t>(i * 40503u);
  raw.set_array("sci", words);
  raw.save(dir / "big_uncal.fits");
  auto rw = open_as(dir / "big_uncal.fits", "RampModel");
  ASSERT_EQ(rw->array("data").dtype(), DType::kFloat32);
  const float* fw = rw->array("data").data<float>();
  bad = 0;
  for (std::size_t i = 0; i < words.size(); ++i) bad += fw[i] != static_cast<float>(uv[i]);
  EXPECT_EQ(bad, 0u);
  ri.window = OpenOptions::Window{50, 450, 0, 800};
  auto rq = open_as(dir / "big_uncal.fits", "RampModel", ri);
  ASSERT_EQ(rq->array("data").shape(), (std::vector<std::int64_t>{1, 3, 450, 800}));
  const float* fq = rq->array("data").data<float>();
  bad = 0;
  for (std::size_t g = 0; g < 3; ++g)
    for (std::size_t y = 0; y < 450; ++y)
      for (std::size_t x = 0; x < 800; ++x)
        bad += fq[(g * 450 + y) * 800 + x] !=
               static_cast<float>(uv[((3 + g) * 500 + y + 50) * 800 + x]);
  EXPECT_EQ(bad, 0u);
}

TEST(Files, BuiltModelSavesFitsAndAsdf) {
  Collect w;
  RampModel m;
  m.set_meta("meta.instrument.name", "NIRCAM");
  m.set_meta("meta.instrument.detector", "NRCA1");
  m.set_meta("meta.exposure.nints", 1);
  m.set_meta("meta.exposure.frame_time", 10.73677);
  m.set_meta("meta.observation.date", "2024-01-02");
  m.set_meta("meta.bunit_data", "DN");
  Array d = Array::allocate(DType::kFloat32, {1, 2, 3, 4});
  for (std::size_t i = 0; i < d.size(); ++i) d.set_double(i, static_cast<double>(i) * 0.5);
  m.set_array("data", d);
  m.ensure_array("pixeldq");
  m.ensure_array("groupdq");
  m.array("pixeldq").set_double(0, 2147483648.0);
  m.fits_extras().history.push_back("made by a test");
  TempDir dir;
  m.save(dir / "r_ramp.fits");
  EXPECT_EQ(m.meta_string("meta.filename"), "r_ramp.fits");
  auto back = open(dir / "r_ramp.fits");
  EXPECT_EQ(back->model_type(), "RampModel");
  EXPECT_TRUE(back->array("data").equals(d));
  EXPECT_EQ(back->data<std::uint32_t>("pixeldq")[0], 2147483648u);
  EXPECT_DOUBLE_EQ(back->meta_double("meta.exposure.frame_time"), 10.73677);
  EXPECT_EQ(back->meta_string("meta.bunit_data"), "DN");
  EXPECT_EQ(back->fits_extras().history, std::vector<std::string>{"made by a test"});
  auto r = stpipe::testing::run_command("fitsverify -q '" + (dir / "r_ramp.fits").string() + "'");
  EXPECT_NE(r.output.find("verification OK"), std::string::npos) << r.output;
  // The ASDF extension's _fits_hash matches the headers we wrote.
  back->save(dir / "r2_ramp.asdf");
  auto a = open(dir / "r2_ramp.asdf");
  EXPECT_EQ(a->model_type(), "RampModel");
  EXPECT_TRUE(a->array("data").equals(d));
  EXPECT_EQ(a->meta_string("meta.instrument.detector"), "NRCA1");
  EXPECT_THROW(m.save(dir / "x.txt"), IoError);
  EXPECT_TRUE(w.messages.empty()) << w.messages[0];
}

TEST(Files, UnknownKeywordsAndHdusKept) {
  ImageModel m;
  m.set_array("data", Array::allocate(DType::kFloat32, {2, 2}));
  m.fits_extras().cards["PRIMARY"].push_back({"FOOBAR", 3, "a private keyword"});
  ExtraHdu h;
  h.extname = "EXTRA";
  h.extver = 2;
  h.image = Array::full(DType::kInt16, {3}, 7);
  h.header.push_back({"MYKEY", "hello", ""});
  m.fits_extras().hdus.push_back(h);
  TempDir dir;
  m.save(dir / "x.fits");
  auto back = open(dir / "x.fits");
  auto& cards = back->fits_extras().cards["PRIMARY"];
  ASSERT_EQ(cards.size(), 1u) << cards[0].keyword << " " << cards.back().keyword;
  EXPECT_EQ(cards[0].keyword, "FOOBAR");
  EXPECT_EQ(cards[0].value, 3);
  ASSERT_EQ(back->fits_extras().hdus.size(), 1u);
  auto& e = back->fits_extras().hdus[0];
  EXPECT_EQ(e.extname, "EXTRA");
  EXPECT_EQ(e.extver, 2);
  EXPECT_TRUE(e.image->equals(*h.image));
  ASSERT_EQ(e.header.size(), 1u);
  EXPECT_EQ(e.header[0].value, "hello");
}

// Images of 4 MiB and more are written past fits_write_img (swapped in 2 MiB pieces, handed to
// CFITSIO's byte writer): for every type that takes that path, with sizes that are not whole
// pieces and values at the type's edges, the file's data units (fill included) must be byte for
// byte those of the same arrays written with fits_write_img alone, with the same BITPIX and BZERO.
TEST(Files, LargeImagesWriteAsCfitsioDoes) {
  struct Case {
    const char* name;
    DType dtype;
    int typecode;
  };
  const Case cases[] = {{"f32", DType::kFloat32, TFLOAT}, {"f64", DType::kFloat64, TDOUBLE},
                        {"i32", DType::kInt32, TINT},     {"u32", DType::kUint32, TUINT},
                        {"i16", DType::kInt16, TSHORT},   {"u16", DType::kUint16, TUSHORT},
                        {"u8", DType::kUint8, TBYTE}};
  TempDir dir;
  DataModel m("SlitModel", "core");
  std::vector<std::pair<const Case*, Array>> arrays;
  for (const Case& c : cases) {
    const std::int64_t nx = 1033;
    const std::int64_t ny =
        static_cast<std::int64_t>((std::size_t{4800} << 10) / models::dtype_size(c.dtype)) /
        nx;  // 4.7 MiB, not whole 2 MiB pieces
    Array a = Array::allocate(c.dtype, {ny, nx});
    auto* bytes = static_cast<unsigned char*>(a.raw());
    for (std::size_t i = 0; i < a.nbytes(); ++i)  // every bit pattern, high bits included
      bytes[i] = static_cast<unsigned char>((i * 2654435761u) >> 13);
    if (c.dtype == DType::kFloat32) {  // NaN, infinities, signed zero, the largest magnitudes
      float* f = a.data<float>();
      const float edge[] = {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(), -0.0f,
                            std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
      for (std::size_t k = 0; k < 5; ++k) f[k * (a.size() / 5) + 7] = edge[k];
    }
    m.set_array(std::string("big_") + c.name, a);
    arrays.emplace_back(&c, a);
  }
  m.save(dir / "ours.fits");
  // The same arrays through fits_write_img only.
  int status = 0;
  fitsfile* ref = nullptr;
  const std::string ref_path = (dir / "ref.fits").string();
  fits_create_file(&ref, ref_path.c_str(), &status);
  fits_create_img(ref, BYTE_IMG, 0, nullptr, &status);
  for (auto& [c, a] : arrays) {
    LONGLONG naxes[2] = {a.shape()[1], a.shape()[0]};
    fits_create_imgll(ref,
                      c->dtype == DType::kFloat32   ? FLOAT_IMG
                      : c->dtype == DType::kFloat64 ? DOUBLE_IMG
                      : c->dtype == DType::kInt32   ? LONG_IMG
                      : c->dtype == DType::kUint32  ? ULONG_IMG
                      : c->dtype == DType::kInt16   ? SHORT_IMG
                      : c->dtype == DType::kUint16  ? USHORT_IMG
                                                    : BYTE_IMG,
                      2, naxes, &status);
    fits_write_img(ref, c->typecode, 1, static_cast<LONGLONG>(a.size()), a.raw(), &status);
  }
  fits_close_file(ref, &status);
  ASSERT_EQ(status, 0);
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string ours_bytes = slurp(dir / "ours.fits"), ref_bytes = slurp(dir / "ref.fits");
  fitsfile* a = nullptr;
  fitsfile* b = nullptr;
  const std::string ours_path = (dir / "ours.fits").string();
  fits_open_file(&a, ours_path.c_str(), READONLY, &status);
  fits_open_file(&b, ref_path.c_str(), READONLY, &status);
  ASSERT_EQ(status, 0);
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const auto& [c, arr] = arrays[k];
    std::string ext = std::string("BIG_") + c->name;
    for (auto& ch : ext) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    fits_movnam_hdu(a, IMAGE_HDU, ext.data(), 0, &status);
    fits_movabs_hdu(b, static_cast<int>(k) + 2, nullptr, &status);
    ASSERT_EQ(status, 0) << ext;
    int bitpix_a = 0, bitpix_b = 0;
    fits_get_img_type(a, &bitpix_a, &status);
    fits_get_img_type(b, &bitpix_b, &status);
    EXPECT_EQ(bitpix_a, bitpix_b) << ext;
    double zero_a = 0, zero_b = 0;
    if (fits_read_key(a, TDOUBLE, "BZERO", &zero_a, nullptr, &status)) status = 0;
    if (fits_read_key(b, TDOUBLE, "BZERO", &zero_b, nullptr, &status)) status = 0;
    EXPECT_EQ(zero_a, zero_b) << ext;
    LONGLONG ha = 0, da = 0, ea = 0, hb = 0, db = 0, eb = 0;
    fits_get_hduaddrll(a, &ha, &da, &ea, &status);
    fits_get_hduaddrll(b, &hb, &db, &eb, &status);
    ASSERT_EQ(status, 0);
    ASSERT_EQ(ea - da, eb - db) << ext;
    ASSERT_LE(static_cast<std::size_t>(ea), ours_bytes.size());
    ASSERT_LE(static_cast<std::size_t>(eb), ref_bytes.size());
    EXPECT_TRUE(ours_bytes.compare(static_cast<std::size_t>(da), static_cast<std::size_t>(ea - da),
                                   ref_bytes, static_cast<std::size_t>(db),
                                   static_cast<std::size_t>(eb - db)) == 0)
        << ext << ": data unit differs from fits_write_img's";
    // And CFITSIO reads back the values that were written.
    std::vector<unsigned char> back(arr.nbytes());
    int anynul = 0;
    fits_read_img(a, c->typecode, 1, static_cast<LONGLONG>(arr.size()), nullptr, back.data(),
                  &anynul, &status);
    ASSERT_EQ(status, 0) << ext;
    EXPECT_EQ(std::memcmp(back.data(), arr.raw(), arr.nbytes()), 0) << ext;
  }
  fits_close_file(a, &status);
  fits_close_file(b, &status);
  // Our reader gives the same arrays back.
  auto again = open(dir / "ours.fits");
  std::size_t found = 0;
  for (auto& h : again->fits_extras().hdus)
    for (auto& [c, arr] : arrays)
      if (h.image && h.extname == "BIG_" + [&] {
            std::string n = c->name;
            for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            return n;
          }())
        found += h.image->dtype() == arr.dtype() &&
                 std::memcmp(h.image->raw(), arr.raw(), arr.nbytes()) == 0;
  EXPECT_EQ(found, arrays.size());
}

TEST(Files, GenericModelKeepsEveryHdu) {
  Collect w;
  DataModel m("SlitModel", "core");
  m.set_array("wavelength", Array::full(DType::kFloat64, {2, 3}, 1.5));
  TempDir dir;
  m.save(dir / "slit.fits");
  auto back = open(dir / "slit.fits");
  EXPECT_EQ(back->model_type(), "SlitModel");
  bool found = false;
  for (auto& h : back->fits_extras().hdus)
    if (h.extname == "WAVELENGTH") found = h.image && h.image->equals(m.array("wavelength"));
  EXPECT_TRUE(found);
  back->save(dir / "slit2.fits");
  auto again = open(dir / "slit2.fits");
  EXPECT_EQ(again->fits_extras().hdus.size(), back->fits_extras().hdus.size());
}

// ---------------------------------------------------------------- bad input

namespace {
std::string error_of(const std::filesystem::path& p) {
  try {
    open(p);
  } catch (const IoError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("OTHER: ") + e.what();
  }
  return "no error";
}
void write_bytes(const std::filesystem::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}
}  // namespace

TEST(BadInput, NonFitsAndTruncated) {
  STPIPE_REQUIRE_SHARED_DATA();
  Collect w;
  TempDir dir;
  write_bytes(dir / "junk.fits", "this is not a FITS file at all");
  std::string e = error_of(dir / "junk.fits");
  EXPECT_NE(e.find("junk.fits"), std::string::npos) << e;
  EXPECT_EQ(e.find("OTHER"), std::string::npos) << e;

  std::string full = read_text_file(shared_data("stdatamodels/stdatamodels172_ramp.fits"));
  write_bytes(dir / "trunc.fits", full.substr(0, 2880 * 3 + 100));
  e = error_of(dir / "trunc.fits");
  EXPECT_NE(e.find("trunc.fits"), std::string::npos) << e;
  EXPECT_NE(e.find("HDU"), std::string::npos) << e;
  EXPECT_EQ(e.find("OTHER"), std::string::npos) << e;

  e = error_of(dir / "missing.fits");
  EXPECT_NE(e.find("no such file"), std::string::npos) << e;
}

TEST(BadInput, WrongBitpixAndShape) {
  Collect w;
  TempDir dir;
  // A float SCI where Level1b wants uint16.
  DataModel raw("Level1bModel", "core");
  raw.set_array("sci", Array::allocate(DType::kFloat32, {1, 2, 3, 4}));
  raw.save(dir / "bad_uncal.fits");
  std::string e = error_of(dir / "bad_uncal.fits");
  EXPECT_NE(e.find("HDU 1 (SCI)"), std::string::npos) << e;
  EXPECT_NE(e.find("BITPIX -32"), std::string::npos) << e;
  // A 3-D SCI in a file claiming to be an ImageModel.
  DataModel img("ImageModel", "core");
  img.set_array("sci", Array::allocate(DType::kFloat32, {2, 3, 4}));
  img.save(dir / "bad_image.fits");
  e = error_of(dir / "bad_image.fits");
  EXPECT_NE(e.find("Expected 2, got 3"), std::string::npos) << e;
  EXPECT_NE(e.find("bad_image.fits"), std::string::npos) << e;
}

TEST(BadInput, CorruptAsdfExtension) {
  STPIPE_REQUIRE_SHARED_DATA();
  Collect w;
  TempDir dir;
  std::string full = read_text_file(shared_data("stdatamodels/stdatamodels172_image.fits"));
  auto pos = full.find("#ASDF 1.0.0");
  ASSERT_NE(pos, std::string::npos);
  full.replace(pos, 5, "#JUNK");  // the ASDF magic inside ASDF_METADATA
  write_bytes(dir / "corrupt.fits", full);
  std::string e = error_of(dir / "corrupt.fits");
  EXPECT_NE(e.find("corrupt.fits"), std::string::npos) << e;
  EXPECT_NE(e.find("ASDF"), std::string::npos) << e;
}

// ---------------------------------------------------------------- commands

TEST(Commands, InfoJsonAndText) {
  STPIPE_REQUIRE_SHARED_DATA();
  std::string f =
      shared_data("vectors/1x10x256x256/fits/jw99999001001_01101_00001_nrca1_uncal.fits").string();
  ::testing::internal::CaptureStdout();
  int rc = cli::info_command({f, "--json"});
  std::string out = ::testing::internal::GetCapturedStdout();
  ASSERT_EQ(rc, 0);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model_type"], "RampModel");
  EXPECT_EQ(j["meta"]["meta.instrument.name"], "NIRCAM");
  EXPECT_EQ(j["arrays"]["data"]["shape"], nlohmann::json::parse("[1,10,256,256]"));
  EXPECT_EQ(j["arrays"]["groupdq"]["dtype"], "uint8");
  ::testing::internal::CaptureStdout();
  rc = cli::info_command({f});
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("model type: RampModel"), std::string::npos) << out;
  EXPECT_NE(out.find("(1, 10, 256, 256)  float32"), std::string::npos) << out;

  ::testing::internal::CaptureStderr();
  EXPECT_EQ(cli::info_command({}), 2);
  EXPECT_EQ(cli::info_command({"/nonexistent/x.fits"}), 3);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("/nonexistent/x.fits"), std::string::npos);
}

TEST(Commands, ConvertFitsToAsdfAndBack) {
  STPIPE_REQUIRE_SHARED_DATA();
  Collect w;
  TempDir dir;
  auto in = shared_data("stdatamodels/stdatamodels172_ramp.fits");
  EXPECT_EQ(cli::convert_command({in.string(), (dir / "r.asdf").string()}), 0);
  EXPECT_EQ(cli::convert_command({(dir / "r.asdf").string(), (dir / "r.fits").string()}), 0);
  auto a = open(in);
  auto b = open(dir / "r.fits");
  EXPECT_TRUE(a->array("data").equals(b->array("data")));
  EXPECT_TRUE(a->array("groupdq").equals(b->array("groupdq")));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(cli::convert_command({in.string()}), 2);
  ::testing::internal::GetCapturedStderr();
}

// ---------------------------------------------------------------- DQ_DEF dynamic flags

TEST(DynamicDq, DecompressOnLoadCompressOnSave) {
  Collect w;
  MaskModel m;
  m.set_meta("meta.reftype", "MASK");
  Array dq = Array::allocate(DType::kUint32, {1, 4});
  auto* p = dq.data<std::uint32_t>();
  p[0] = 1;      // file bit 0 -> DEAD (1024)
  p[1] = 2;      // file bit 1 -> HOT (2048)
  p[2] = 3;      // both
  p[3] = 4 | 1;  // bit 2 is not listed: dropped
  m.set_array("dq", dq);
  Table t;
  t.add_numeric("BIT", DType::kInt32, {0, 1, 2});
  t.add_numeric("VALUE", DType::kUint32, {1, 2, 4});
  t.add_text("NAME", 40, {"DEAD", "HOT", "NOT_A_FLAG"});
  t.add_text("DESCRIPTION", 80, {"dead", "hot", "unknown"});
  m.set_table("dq_def", t);
  TempDir dir;
  // In memory the model holds file values here; saving compresses standard flags, so write the
  // file through a generic model that keeps the raw values instead.
  DataModel raw("MaskModel", "core");
  raw.set_array("dq", dq);
  raw.set_table("dq_def", t);
  raw.save(dir / "m.fits");
  auto back = open(dir / "m.fits");
  ASSERT_EQ(back->model_type(), "MaskModel");
  const auto* q = back->data<std::uint32_t>("dq");
  EXPECT_EQ(q[0], 1024u);
  EXPECT_EQ(q[1], 2048u);
  EXPECT_EQ(q[2], 3072u);
  EXPECT_EQ(q[3], 1024u);
  EXPECT_FALSE(w.messages.empty());  // NOT_A_FLAG reported
  // Saving packs back to the file's values; SATURATED (not in DQ_DEF) is dropped.
  back->array("dq").data<std::uint32_t>()[0] |= 2;
  back->save(dir / "m2.fits");
  auto raw2 = open_as(dir / "m2.fits", "GenericCheck");
  bool found = false;
  for (auto& h : raw2->fits_extras().hdus)
    if (h.extname == "DQ") {
      found = true;
      const auto* r = h.image->data<std::uint32_t>();
      EXPECT_EQ(r[0], 1u);
      EXPECT_EQ(r[1], 2u);
      EXPECT_EQ(r[2], 3u);
      EXPECT_EQ(r[3], 1u);
    }
  EXPECT_TRUE(found);
  EXPECT_EQ(standard_dq_flag("JUMP_DET"), 4u);
  EXPECT_FALSE(standard_dq_flag("NOPE"));
}

// DQ_DEF VALUEs that are not 32-bit masks (a fraction, one beyond 2^32) are reported and
// ignored; -2^31, as an int32 column holds bit 31, is bit 31. (A FITS fuzzer input cast
// -2.1e9 to uint32: undefined behaviour.)
TEST(DynamicDq, ValuesThatAreNotMasksAreIgnored) {
  Collect w;
  Array dq = Array::allocate(DType::kUint32, {1, 4});
  auto* p = dq.data<std::uint32_t>();
  p[0] = 1;            // DEAD
  p[1] = 2;            // HOT, whose VALUE 2.5 is ignored: dropped
  p[2] = 0x80000000u;  // REFERENCE_PIXEL by VALUE -2^31
  p[3] = 4;            // OPEN, whose VALUE 6e9 is ignored: dropped
  Table t;
  t.add_numeric("BIT", DType::kInt32, {0, 1, 31, 2});
  t.add_numeric("VALUE", DType::kFloat64, {1, 2.5, -2147483648.0, 6e9});
  t.add_text("NAME", 40, {"DEAD", "HOT", "REFERENCE_PIXEL", "OPEN"});
  t.add_text("DESCRIPTION", 80, {"", "", "", ""});
  DataModel raw("MaskModel", "core");
  raw.set_array("dq", dq);
  raw.set_table("dq_def", t);
  TempDir dir;
  raw.save(dir / "m.fits");
  auto back = open(dir / "m.fits");
  const auto* q = back->data<std::uint32_t>("dq");
  EXPECT_EQ(q[0], 1024u);
  EXPECT_EQ(q[1], 0u);
  EXPECT_EQ(q[2], 0x80000000u);
  EXPECT_EQ(q[3], 0u);
  int reported = 0;
  for (const auto& m : w.messages) reported += m.find("is not a 32-bit mask") != std::string::npos;
  EXPECT_EQ(reported, 2);
}

TEST(DynamicDq, RealFiles) {
  STPIPE_REQUIRE_SHARED_DATA();
  Collect w;
  // Empty DQ_DEF: DQ kept as in the file (the max value there is 2147483649).
  auto mask = open(shared_data("vectors/1x10x256x256/fits/ref_mask.fits"));
  ASSERT_EQ(mask->table("dq_def").rows(), 0u);
  const Array& dq = mask->array("dq");
  std::uint32_t mx = 0;
  for (std::size_t i = 0; i < dq.size(); ++i) mx = std::max(mx, dq.data<std::uint32_t>()[i]);
  EXPECT_EQ(mx, 2147483649u);
  // Superbias: DQ_DEF maps VALUE 2 to UNRELIABLE_BIAS; file values 4194304 share no bit with 2,
  // so (as in stdatamodels) they decompress to 0 and no pixel keeps a bit outside the mapping.
  auto sb = open(shared_data("jwst/reference/jwst_nirspec_superbias_0075.fits"));
  const Array& sdq = sb->array("dq");
  for (std::size_t i = 0; i < sdq.size(); ++i) {
    std::uint32_t v = sdq.data<std::uint32_t>()[i];
    ASSERT_TRUE(v == 0 || (v & ~(1u | 4194304u)) == 0) << v;
  }
}

TEST(Convert, Level1bToRamp) {
  STPIPE_REQUIRE_SHARED_DATA();
  Collect w;
  auto raw = open(shared_data("jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits"));
  ASSERT_EQ(raw->model_type(), "Level1bModel");
  auto ramp = convert_model(*raw, "RampModel");
  EXPECT_EQ(ramp->model_type(), "RampModel");
  EXPECT_EQ(ramp->meta_string("meta.model_type"), "RampModel");
  EXPECT_EQ(ramp->meta_string("meta.instrument.detector"), "GUIDER2");
  const Array& d = ramp->array("data");
  EXPECT_EQ(d.dtype(), DType::kFloat32);
  const Array& u = raw->array("data");
  ASSERT_EQ(d.size(), u.size());
  for (std::size_t i = 0; i < u.size(); i += 997) ASSERT_EQ(d.get_double(i), u.get_double(i));
  // Same result as opening the file directly as a RampModel (CFITSIO converts while reading).
  auto direct =
      open_as(shared_data("jwst/raw/jw01019001001_gs-acq1_2022117003102_uncal.fits"), "RampModel");
  EXPECT_TRUE(direct->array("data").equals(d));
  ImageModel img;
  img.set_array("data", Array::allocate(DType::kFloat32, {2, 2}));
  EXPECT_THROW(convert_model(img, "RampModel"), ValidationError);
}

TEST(BadInput, HeaderDeclaresMoreDataThanFile) {
  Collect w;
  TempDir dir;
  auto card = [](std::string s) { return s.append(80 - s.size(), ' '); };
  std::string prim =
      card("SIMPLE  =                    T") + card("BITPIX  =                    8") +
      card("NAXIS   =                    0") + card("EXTEND  =                    T") +
      card("DATAMODL= 'ImageModel'") + card("END");
  prim.append(2880 - prim.size(), ' ');
  std::string sci =
      card("XTENSION= 'IMAGE   '") + card("BITPIX  =                  -32") +
      card("NAXIS   =                    2") + card("NAXIS1  =               100000") +
      card("NAXIS2  =               100000") + card("PCOUNT  =                    0") +
      card("GCOUNT  =                    1") + card("EXTNAME = 'SCI     '") + card("END");
  sci.append(2880 - sci.size(), ' ');
  write_bytes(dir / "huge.fits", prim + sci + std::string(2880, '\0'));
  std::string e = error_of(dir / "huge.fits");
  EXPECT_NE(e.find("huge.fits"), std::string::npos) << e;
  EXPECT_NE(e.find("(SCI)"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated or corrupt"), std::string::npos) << e;
}
