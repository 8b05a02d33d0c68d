// Tests of configspec parsing, every check type with validate's messages, and tree validation.
#include "stpipe/config/configspec.h"

#include <gtest/gtest.h>

#include <fstream>

#include "stpipe/cli/commands.h"
#include "test_support.h"

namespace stpipe::config {
namespace {

using Json = nlohmann::json;

std::string reason(const std::string& check, const Json& value, const CheckContext& ctx = {}) {
  try {
    check_value(parse_check(check), value, ctx);
  } catch (const CheckError& e) {
    return e.what();
  }
  return "<passed>";
}

Json ok(const std::string& check, const Json& value, const CheckContext& ctx = {}) {
  return check_value(parse_check(check), value, ctx);
}

TEST(ParseCheck, ArgumentsAndDefaults) {
  Check c = parse_check("integer(min=0, max=10, default=5)");
  EXPECT_EQ(c.type, "integer");
  EXPECT_EQ(c.kwargs["min"], "0");
  EXPECT_EQ(c.kwargs["max"], "10");
  EXPECT_FALSE(c.kwargs.contains("default"));
  EXPECT_TRUE(c.has_default);
  EXPECT_EQ(c.default_value, 5);

  Check o = parse_check("option('a', \"b\", c, default='b')");
  EXPECT_EQ(o.args, (std::vector<Json>{"a", "b", "c"}));
  EXPECT_EQ(o.default_value, "b");

  Check l = parse_check("string_list(default=list('x', 'y'))");
  EXPECT_EQ(l.default_value, Json::array({"x", "y"}));
  Check e = parse_check("int_list(default=list())");
  EXPECT_EQ(e.default_value, Json::array());

  Check n = parse_check("float(default=None)");
  EXPECT_TRUE(n.has_default);
  EXPECT_TRUE(n.default_value.is_null());
  Check qn = parse_check("string(default='None')");
  EXPECT_EQ(qn.default_value, "None");

  Check r = parse_check("boolean");
  EXPECT_EQ(r.type, "boolean");
  EXPECT_FALSE(r.has_default);
  Check r2 = parse_check("float()");
  EXPECT_EQ(r2.type, "float");
  EXPECT_FALSE(r2.has_default);

  Check f = parse_check("float(default=4.0)");
  EXPECT_EQ(f.default_value, 4.0);
  EXPECT_EQ(f.text, "float(default=4.0)");
  Check pos = parse_check("integer(0, 10)");
  EXPECT_EQ(reason("integer(0, 10)", "11"), "the value \"11\" is too big.");
  EXPECT_EQ(pos.args.size(), 2u);
}

TEST(CheckValue, Integer) {
  EXPECT_EQ(ok("integer", "42"), 42);
  EXPECT_EQ(ok("integer", " -7 "), -7);
  EXPECT_EQ(ok("integer", "1_000"), 1000);
  EXPECT_EQ(ok("integer", 3), 3);
  EXPECT_EQ(reason("integer", "0x10"), "the value \"0x10\" is of the wrong type.");
  EXPECT_EQ(reason("integer", "2.5"), "the value \"2.5\" is of the wrong type.");
  EXPECT_EQ(reason("integer", "None"), "the value \"None\" is of the wrong type.");
  EXPECT_EQ(reason("integer", 2.5), "the value \"2.5\" is of the wrong type.");
  EXPECT_EQ(reason("integer", Json::array({"1"})), "the value \"['1']\" is of the wrong type.");
  EXPECT_EQ(reason("integer(min=0, max=10)", "11"), "the value \"11\" is too big.");
  EXPECT_EQ(reason("integer(min=0, max=10)", "-1"), "the value \"-1\" is too small.");
  EXPECT_TRUE(ok("integer", nullptr).is_null());
}

TEST(CheckValue, Float) {
  EXPECT_EQ(ok("float", "2.5"), 2.5);
  EXPECT_EQ(ok("float", "3"), 3.0);
  EXPECT_TRUE(ok("float", "3").is_number_float());
  EXPECT_EQ(ok("float", 10), 10.0);
  EXPECT_EQ(ok("float", "1e3"), 1000.0);
  EXPECT_EQ(reason("float", "abc"), "the value \"abc\" is of the wrong type.");
  EXPECT_EQ(reason("float(min=10)", "9"), "the value \"9.0\" is too small.");
  EXPECT_EQ(reason("float(max=1.5)", "35"), "the value \"35.0\" is too big.");
}

TEST(CheckValue, Boolean) {
  for (const char* t : {"true", "True", "YES", "on", "1"}) EXPECT_EQ(ok("boolean", t), true) << t;
  for (const char* f : {"false", "No", "OFF", "0"}) EXPECT_EQ(ok("boolean", f), false) << f;
  EXPECT_EQ(ok("boolean", true), true);
  EXPECT_EQ(reason("boolean", "up"), "the value \"up\" is of the wrong type.");
  EXPECT_EQ(reason("boolean", ""), "the value \"\" is of the wrong type.");
}

TEST(CheckValue, StringAndOption) {
  EXPECT_EQ(ok("string", "abc"), "abc");
  EXPECT_EQ(reason("string", Json::array({"a", "b"})),
            "the value \"['a', 'b']\" is of the wrong type.");
  EXPECT_EQ(reason("string", 5), "the value \"5\" is of the wrong type.");
  EXPECT_EQ(reason("string(min=2)", "a"), "the value \"a\" is too short.");
  EXPECT_EQ(reason("string(max=3)", "abcd"), "the value \"abcd\" is too long.");
  EXPECT_EQ(ok("string(max=2)", "\xC3\xA9\xC3\xA9"), "\xC3\xA9\xC3\xA9");  // two code points
  EXPECT_EQ(ok("option('a', 'b')", "b"), "b");
  EXPECT_EQ(reason("option('a', 'b')", "bogus"), "the value \"bogus\" is unacceptable.");
  EXPECT_EQ(reason("option('a', 'b')", 0), "the value \"0\" is of the wrong type.");
}

TEST(CheckValue, Lists) {
  EXPECT_EQ(ok("list", Json::array({"a", "b"})), Json::array({"a", "b"}));
  EXPECT_EQ(reason("list", "a"), "the value \"a\" is of the wrong type.");
  EXPECT_EQ(ok("tuple", Json::array({"1"})), Json::array({"1"}));
  EXPECT_EQ(ok("int_list", Json::array({"1", "2"})), Json::array({1, 2}));
  EXPECT_EQ(reason("int_list", Json::array({"1", "a"})), "the value \"a\" is of the wrong type.");
  EXPECT_EQ(ok("float_list", Json::array({"1", "2.5"})), Json::array({1.0, 2.5}));
  EXPECT_EQ(ok("bool_list", Json::array({"yes", "0"})), Json::array({true, false}));
  EXPECT_EQ(ok("string_list", Json::array({"x"})), Json::array({"x"}));
  EXPECT_EQ(reason("string_list", "hello"), "the value \"hello\" is of the wrong type.");
  EXPECT_EQ(reason("int_list(max=2)", Json::array({"1500", "1300", "90"})),
            "the value \"['1500', '1300', '90']\" is too long.");
  EXPECT_EQ(reason("int_list(min=2, max=3)", Json::array({"1500"})),
            "the value \"['1500']\" is too short.");
  EXPECT_EQ(reason("int_list(min=2, max=3)", "1500"), "the value \"1500\" is of the wrong type.");
  EXPECT_EQ(ok("force_list", "hello"), Json::array({"hello"}));
  EXPECT_EQ(reason("force_list(min=2)", "x"), "the value \"['x']\" is too short.");
  EXPECT_EQ(ok("mixed_list('integer', 'string', 'boolean')", Json::array({"1", "b", "on"})),
            Json::array({1, "b", true}));
  EXPECT_EQ(reason("mixed_list('integer', 'string')", Json::array({"1"})),
            "the value \"['1']\" is too short.");
  EXPECT_EQ(reason("mixed_list('integer', 'string')", Json::array({"x", "y"})),
            "the value \"x\" is of the wrong type.");
}

TEST(CheckValue, Files) {
  stpipe::testing::TempDir dir;
  { std::ofstream(dir / "in.fits") << "x"; }
  CheckContext ctx;
  ctx.base_dir = dir.path();
  EXPECT_EQ(ok("input_file", "in.fits", ctx), (dir.path() / "in.fits").string());
  EXPECT_EQ(ok("input_file", "./sub/../in.fits", ctx), (dir.path() / "in.fits").string());
  EXPECT_EQ(reason("input_file", "missing.fits", ctx),
            "Path '" + (dir.path() / "missing.fits").string() + "' does not exist");
  // From the command line: relative to the CWD, whatever base_dir says.
  CheckContext cli = ctx;
  cli.from_command_line = true;
  const std::string cwd = std::filesystem::current_path().string();
  EXPECT_EQ(reason("input_file", "no_such_file_xyz.fits", cli),
            "Path '" + cwd + "/no_such_file_xyz.fits' does not exist");
  // output_file creates the parent directory and returns the absolute path.
  EXPECT_EQ(ok("output_file", "out/deeper/result.fits", ctx),
            (dir.path() / "out/deeper/result.fits").string());
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "out/deeper"));
  EXPECT_TRUE(ok("input_file", nullptr, ctx).is_null());
}

TEST(CheckValue, DatamodelChecks) {
  EXPECT_EQ(ok("is_string_or_datamodel", "ref.fits"), "ref.fits");
  EXPECT_TRUE(ok("is_string_or_datamodel", nullptr).is_null());
  EXPECT_EQ(reason("is_string_or_datamodel", 3), "the value \"3\" is of the wrong type.");
  EXPECT_EQ(reason("is_datamodel", "x"), "the value \"x\" is of the wrong type.");
}

TEST(ValueRepr, PythonStyle) {
  EXPECT_EQ(value_repr("abc"), "abc");
  EXPECT_EQ(value_repr(Json::array({"a", "it's"})), "['a', \"it's\"]");
  EXPECT_EQ(value_repr(Json::array({1, 2.5, true, nullptr})), "[1, 2.5, True, None]");
}

TEST(ParseConfigspec, TreeHelpAndErrors) {
  SpecSection spec = parse_configspec(
      "n = integer(default=3)  # how many\n"
      "[steps]\n"
      "  [[count]]\n"
      "  n = integer(max=10)\n");
  ASSERT_NE(spec.find("n"), nullptr);
  EXPECT_EQ(spec.find("n")->check->help, "how many");
  ASSERT_TRUE(spec.find("steps")->section);
  EXPECT_EQ(spec.find("steps")->section->find("count")->section->find("n")->check->type, "integer");
  EXPECT_THROW(parse_configspec("x = yoda(default=1)\n"), ConfigError);
  try {
    parse_configspec("x = yoda(default=1)\n", "my.spec");
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "my.spec: unknown check \"yoda\" for 'x'");
  }
  const std::string text = write_configspec(spec);
  EXPECT_EQ(
      text,
      "n = integer(default=3)  # how many\n[steps]\n    [[count]]\n        n = integer(max=10)\n");
  SpecSection again = parse_configspec(text);
  EXPECT_EQ(write_configspec(again), text);
}

TEST(SpecSection, MergeReplacesAndAppends) {
  SpecSection base = parse_configspec(
      "a = integer(default=1)\nb = string(default='x')\n[s]\nc = float(default=1.0)\n");
  SpecSection over = parse_configspec(
      "b = string(default='y')\nd = boolean(default=True)\n[s]\ne = integer(default=2)\n");
  base.merge(over);
  EXPECT_EQ(write_configspec(base),
            "a = integer(default=1)\nb = string(default='y')\nd = boolean(default=True)\n[s]\n"
            "    c = float(default=1.0)\n    e = integer(default=2)\n");
}

std::string validation_error(const Tree& cfg, const std::string& spec_text,
                             ValidateOptions opts = {}) {
  try {
    validate(cfg, parse_configspec(spec_text), opts);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<valid>";
}

TEST(Validate, TypesAndDefaults) {
  const std::string spec =
      "par1 = integer()\n"
      "f = float(default=4.0)\n"
      "flag = boolean(default=False)\n"
      "s = string(default=None)\n"
      "[steps]\n"
      "  [[count]]\n"
      "  n = integer(max=10, default=1)\n";
  Tree cfg = parse_configobj("par1 = 7\nf = 1\n[steps]\n[[count]]\nn = 9\n");
  Tree out = validate(cfg, parse_configspec(spec));
  EXPECT_EQ(out["par1"], 7);
  EXPECT_EQ(out["f"], 1.0);
  EXPECT_TRUE(out["f"].is_number_float());
  EXPECT_EQ(out["flag"], false);
  EXPECT_TRUE(out["s"].is_null());
  EXPECT_EQ(out["steps"]["count"]["n"], 9);
  // Defaults fill a missing section; an int given to a float stays an int (ConfigObj's write-back).
  Tree typed = Tree::object();
  typed["par1"] = 1;
  typed["f"] = 10;
  Tree out2 = validate(typed, parse_configspec(spec));
  EXPECT_EQ(out2["steps"]["count"]["n"], 1);
  EXPECT_TRUE(out2["f"].is_number_integer());
  ValidateOptions no_fill;
  no_fill.fill_defaults = false;
  Tree out3 = validate(typed, parse_configspec(spec), no_fill);
  EXPECT_FALSE(out3.contains("flag"));
}

TEST(Validate, Messages) {
  const std::string spec =
      "par1 = integer()\n"
      "mode = option('a', 'b', default='a')\n"
      "output_shape = int_list(min=2, max=2, default=None)\n"
      "[steps]\n"
      "  [[count]]\n"
      "  n = integer(min=0, max=10, default=1)\n";
  EXPECT_EQ(validation_error(parse_configobj("[steps]\n[[count]]\nn = 11\n"), spec),
            "Config parameter 'par1': missing\n"
            "Config parameter 'steps/count/n': the value \"11\" is too big.");
  EXPECT_EQ(validation_error(
                parse_configobj("par1 = 1\nmode = bogus\noutput_shape = 1500, 1300, 90\n"), spec),
            "Config parameter 'mode': the value \"bogus\" is unacceptable.\n"
            "Config parameter 'output_shape': the value \"['1500', '1300', '90']\" is too long.");
  EXPECT_EQ(validation_error(parse_configobj("par1 = 1\noutput_shape = 1500\n"), spec),
            "Config parameter 'output_shape': the value \"1500\" is of the wrong type.");
  EXPECT_EQ(validation_error(parse_configobj("par1 = 1\nbogus = 1\nzzz = 2\n"), spec),
            "Extra value 'bogus' in root");
  EXPECT_EQ(validation_error(parse_configobj("par1 = 1\n[steps]\n[[nope]]\nx = 1\n"), spec),
            "Extra value 'nope' in steps");
  EXPECT_EQ(validation_error(parse_configobj("par1 = 1\n[steps]\n[[count]]\nq = 1\n"), spec),
            "Extra value 'q' in steps/count");
  EXPECT_EQ(validation_error(parse_configobj("par1 = x\nextra = 1\n"), spec),
            "Config parameter 'par1': the value \"x\" is of the wrong type.\nExtra value 'extra' "
            "in root");
  ValidateOptions lenient;
  lenient.allow_missing = true;
  lenient.allow_extra = true;
  EXPECT_EQ(validation_error(parse_configobj("bogus = 1\n"), spec, lenient), "<valid>");
}

TEST(Validate, MissingSectionAndMany) {
  // A section the config lacks whose every entry is required: "[missing section]".
  EXPECT_EQ(validation_error(Tree::object(), "[s]\na = integer()\nb = integer()\n"),
            "Config parameter 's/[missing section]': missing");
  // A section where the spec has a scalar, and a scalar where it has a section.
  EXPECT_EQ(validation_error(parse_configobj("[n]\nx = 1\n"), "n = integer()\n"),
            "Config parameter 'n/[missing section]': Value 'n' was provided as a section\n"
            "Extra value 'n' in root");
  EXPECT_EQ(validation_error(parse_configobj("s = 1\n"), "[s]\na = integer(default=1)\n"),
            "Config parameter 's': Section 's' was provided as a single value");
  // __many__ sections validate every section not named in the spec.
  const std::string spec = "[steps]\n  [[__many__]]\n  skip = boolean(default=False)\n";
  Tree out =
      validate(parse_configobj("[steps]\n[[a]]\nskip = yes\n[[b]]\n"), parse_configspec(spec));
  EXPECT_EQ(out["steps"]["a"]["skip"], true);
  EXPECT_EQ(out["steps"]["b"]["skip"], false);
  EXPECT_EQ(validation_error(parse_configobj("[steps]\n[[a]]\nskip = maybe\n"), spec),
            "Config parameter 'steps/a/skip': the value \"maybe\" is of the wrong type.");
  // A __many__ scalar validates every unnamed key.
  Tree out2 =
      validate(parse_configobj("x = 1\ny = 2\n"), parse_configspec("__many__ = integer()\n"));
  EXPECT_EQ(out2["x"], 1);
  EXPECT_EQ(out2["y"], 2);
}

TEST(Validate, FileChecksUseBaseDir) {
  stpipe::testing::TempDir dir;
  { std::ofstream(dir / "a.fits") << "x"; }
  ValidateOptions opts;
  opts.context.base_dir = dir.path();
  Tree out = validate(
      parse_configobj("inp = a.fits\n"),
      parse_configspec("inp = input_file()\nout = output_file(default='o/r.fits')\n"), opts);
  EXPECT_EQ(out["inp"], (dir.path() / "a.fits").string());
  EXPECT_EQ(out["out"], (dir.path() / "o/r.fits").string());
}

TEST(DumpConfigJson, WithAndWithoutSpec) {
  stpipe::testing::TempDir dir;
  { std::ofstream(dir / "c.cfg") << "n = 5\nl = a, b\n[s]\nx = yes\n"; }
  EXPECT_EQ(dump_config_json(dir / "c.cfg", std::nullopt),
            "{\n  \"n\": \"5\",\n  \"l\": [\n    \"a\",\n    \"b\"\n  ],\n  \"s\": {\n    \"x\": "
            "\"yes\"\n  }\n}");
  const std::string spec =
      "n = integer()\nl = string_list()\nm = float(default=None)\n[s]\nx = boolean()\n";
  Json typed = Json::parse(dump_config_json(dir / "c.cfg", spec));
  EXPECT_EQ(typed["n"], 5);
  EXPECT_EQ(typed["l"], Json::array({"a", "b"}));
  EXPECT_TRUE(typed["m"].is_null());
  EXPECT_EQ(typed["s"]["x"], true);
}

TEST(ConfigCommand, ExitCodes) {
  stpipe::testing::TempDir dir;
  { std::ofstream(dir / "ok.cfg") << "a = 1\n"; }
  { std::ofstream(dir / "bad.cfg") << "a = 1\na = 2\n"; }
  { std::ofstream(dir / "s.spec") << "a = integer(max=0)\n"; }
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(cli::config_command({"dump", (dir / "ok.cfg").string()}), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "{\n  \"a\": \"1\"\n}\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(cli::config_command({"dump", (dir / "bad.cfg").string()}), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("ERROR: "), std::string::npos);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(cli::config_command({"dump", (dir / "nope.cfg").string()}), 3);
  EXPECT_EQ(::testing::internal::GetCapturedStderr().rfind("ERROR: Cannot read config file", 0),
            0u);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(
      cli::config_command({"dump", (dir / "ok.cfg").string(), "--spec", (dir / "s.spec").string()}),
      2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "ERROR: Config parameter 'a': the value \"1\" is too big.\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(cli::config_command({}), 2);
  EXPECT_EQ(cli::config_command({"frob"}), 2);
  EXPECT_EQ(cli::config_command({"dump"}), 2);
  EXPECT_EQ(cli::config_command({"dump", "x", "--spec"}), 2);
  ::testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace stpipe::config
