#include "daemon/flags.h"

#include <stdexcept>
#include <string>

namespace execd::daemon {
namespace {

// The word --help shows for a flag's value.
std::string value_name(const Setting& s) {
    if (s.type() != SettingType::Integer) return "TEXT";
    if (s.unit.empty()) return "N";
    std::string name;
    for (char c : s.unit) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return name;
}

}  // namespace

SettingFlags::SettingFlags(CLI::App& app) {
    for (const Setting& s : settings()) {
        if (s.flag.empty()) continue;
        const std::string flag(s.flag), help = s.flag_help();
        switch (s.type()) {
            case SettingType::Integer:
                app.add_option_function<int64_t>(
                       flag, [this, &s](const int64_t& v) { given(s, v); }, help)
                    ->type_name(value_name(s));
                break;
            case SettingType::Text:
                app.add_option_function<std::string>(
                       flag, [this, &s](const std::string& v) { given(s, v); }, help)
                    ->type_name(value_name(s));
                break;
            case SettingType::Boolean:
                app.add_flag_callback(
                    flag, [this, &s] { given(s, true); }, help);
                break;
            case SettingType::TextList:
                app.add_option_function<std::vector<std::string>>(
                    flag, [this, &s](const std::vector<std::string>& v) { given(s, v); }, help);
                break;
            case SettingType::Choice: {
                std::vector<std::string> words;
                for (std::string_view w : s.choice_list()) words.emplace_back(w);
                app.add_option_function<std::string>(
                       flag, [this, &s](const std::string& v) { given(s, v); }, help)
                    ->check(CLI::IsMember(words));
                break;
            }
        }
    }
}

void SettingFlags::given(const Setting& setting, SettingValue value) {
    for (auto& [s, v] : given_)
        if (s == &setting) {
            v = std::move(value);
            return;
        }
    given_.emplace_back(&setting, std::move(value));
}

void SettingFlags::apply(Config& config) const {
    for (const auto& [s, value] : given_) {
        if (const int64_t* n = std::get_if<int64_t>(&value))
            if (std::string problem = s->range_problem(*n); !problem.empty())
                throw std::runtime_error(std::string(s->flag) + ": " + s->name() + " " + problem + ", not " +
                                         std::to_string(*n));
        s->assign(config, value);
    }
}

}  // namespace execd::daemon
