#include "tools/completion.hpp"

#include <set>
#include <sstream>
#include <vector>

namespace chronicle::cli {

namespace {

struct option_info {
  std::vector<std::string> names;  // "--type", "-t"; a positional: empty
  std::string description;
  bool takes_value = false;
  std::vector<std::string> choices;  // from a CLI::IsMember check: "TEXT:{table,json}"
};

struct command_info {
  std::string path;  // "" for the program, "workflow start", ...
  std::vector<std::pair<std::string, std::string>> subcommands;  // name, description
  std::vector<option_info> options;  // its own and, when options fall through, its parents'
  std::vector<option_info> positionals;
};

std::vector<std::string> choices_of(const CLI::Option* opt) {
  auto type = opt->get_type_name();
  auto open = type.find(":{"), close = type.rfind('}');
  std::vector<std::string> out;
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::stringstream items(type.substr(open + 2, close - open - 2));
  for (std::string item; std::getline(items, item, ',');) out.push_back(item);
  return out;
}

option_info info_of(const CLI::Option* opt) {
  option_info o;
  for (auto& l : opt->get_lnames()) o.names.push_back("--" + l);
  for (auto& s : opt->get_snames()) o.names.push_back("-" + s);
  o.description = opt->get_description();
  o.takes_value = opt->get_expected_min() > 0;
  o.choices = choices_of(opt);
  return o;
}

void collect(const CLI::App* app, const std::string& path, std::vector<command_info>* out) {
  command_info cmd;
  cmd.path = path;
  std::set<std::string> seen;  // a parent's --help is hidden by the command's own
  for (auto* a = app; a; a = a->get_fallthrough() ? a->get_parent() : nullptr)
    for (auto* opt : a->get_options()) {
      auto info = info_of(opt);
      if (!opt->nonpositional()) {
        if (a == app) cmd.positionals.push_back(std::move(info));
        continue;
      }
      std::erase_if(info.names, [&](const std::string& n) { return !seen.insert(n).second; });
      if (!info.names.empty()) cmd.options.push_back(std::move(info));
    }
  auto subs = app->get_subcommands([](const CLI::App*) { return true; });
  for (auto* s : subs) cmd.subcommands.emplace_back(s->get_name(), s->get_description());
  out->push_back(std::move(cmd));
  for (auto* s : subs) collect(s, path.empty() ? s->get_name() : path + " " + s->get_name(), out);
}

// A shell word in single quotes.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// A shell function `name` printing, for the command path in $1 (and option in $2), the text
// `body` returns for each command; valid in bash and zsh alike.
template <class Body>
void case_function(std::ostream& os, const std::string& name, const std::vector<command_info>& cmds,
                   Body body) {
  os << name << "() {\n  case \"$1\" in\n";
  for (auto& c : cmds) {
    auto text = body(c);
    if (!text.empty()) os << "    " << quote(c.path) << ") " << text << " ;;\n";
  }
  os << "  esac\n}\n";
}

// The helpers both shells use: subcommands, options, options taking a value, and value choices.
void helpers(std::ostream& os, const std::string& fn, const std::vector<command_info>& cmds) {
  case_function(os, fn + "_subcommands", cmds, [](const command_info& c) {
    std::vector<std::string> names;
    for (auto& s : c.subcommands) names.push_back(s.first);
    return names.empty() ? std::string() : "printf '%s\\n' " + quote(join(names));
  });
  case_function(os, fn + "_options", cmds, [](const command_info& c) {
    std::vector<std::string> names;
    for (auto& o : c.options) names.insert(names.end(), o.names.begin(), o.names.end());
    return names.empty() ? std::string() : "printf '%s\\n' " + quote(join(names));
  });
  case_function(os, fn + "_values", cmds, [](const command_info& c) {
    std::vector<std::string> names;
    for (auto& o : c.options)
      if (o.takes_value) names.insert(names.end(), o.names.begin(), o.names.end());
    return names.empty() ? std::string() : "printf '%s\\n' " + quote(join(names));
  });
  case_function(os, fn + "_positionals", cmds, [](const command_info& c) {
    std::vector<std::string> words;
    for (auto& p : c.positionals) words.insert(words.end(), p.choices.begin(), p.choices.end());
    return words.empty() ? std::string() : "printf '%s\\n' " + quote(join(words));
  });
  // Choices of option $2 under path $1: a nested case on the option name.
  os << fn << "_choices() {\n  case \"$1\" in\n";
  for (auto& c : cmds) {
    std::ostringstream inner;
    for (auto& o : c.options) {
      if (o.choices.empty()) continue;
      std::vector<std::string> quoted;
      for (auto& n : o.names) quoted.push_back(quote(n));
      std::string alts;
      for (auto& q : quoted) alts += (alts.empty() ? "" : "|") + q;
      inner << alts << ") printf '%s\\n' " << quote(join(o.choices)) << " ;; ";
    }
    if (!inner.str().empty())
      os << "    " << quote(c.path) << ") case \"$2\" in " << inner.str() << "esac ;;\n";
  }
  os << "  esac\n}\n";
}

// The loop both shells run over the words before the cursor: follows subcommands into `cmdpath`
// and skips option values. `first`/`last` index the words array.
std::string walk(const std::string& fn, const std::string& words, const std::string& first,
                 const std::string& last) {
  return "  local cmdpath='' w i skip=0\n"
         "  for ((i = " + first + "; i < " + last + "; i++)); do\n"
         "    w=${" + words + "[i]}\n"
         "    if ((skip)); then skip=0; continue; fi\n"
         "    if [[ $w == -* ]]; then\n"
         "      [[ $w != *=* && \" $(" + fn + "_values \"$cmdpath\") \" == *\" $w \"* ]] && skip=1\n"
         "      continue\n"
         "    fi\n"
         "    if [[ \" $(" + fn + "_subcommands \"$cmdpath\") \" == *\" $w \"* ]]; then\n"
         "      cmdpath=${cmdpath:+$cmdpath }$w\n"
         "    fi\n"
         "  done\n";
}

}  // namespace

std::string bash_completion(const CLI::App& app, const std::string& prog) {
  std::vector<command_info> cmds;
  collect(&app, "", &cmds);
  auto fn = "_" + prog;
  std::ostringstream os;
  os << "# bash completion for " << prog << ", generated by `" << prog
     << " completion bash` from its own\n# definition. Load it with:  source <(" << prog
     << " completion bash)\n";
  helpers(os, fn, cmds);
  os << fn << "() {\n"
     << "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
     << walk(fn, "COMP_WORDS", "1", "COMP_CWORD")
     << "  if [[ $prev == -* && $prev != *=* && \" $(" << fn
     << "_values \"$cmdpath\") \" == *\" $prev \"* ]]; then\n"
     << "    local choices\n    choices=$(" << fn << "_choices \"$cmdpath\" \"$prev\")\n"
     << "    if [[ -n $choices ]]; then COMPREPLY=($(compgen -W \"$choices\" -- \"$cur\"))\n"
     << "    else COMPREPLY=($(compgen -f -- \"$cur\")); fi\n"
     << "    return\n  fi\n"
     << "  if [[ $cur == -* ]]; then\n"
     << "    COMPREPLY=($(compgen -W \"$(" << fn << "_options \"$cmdpath\")\" -- \"$cur\"))\n"
     << "  else\n"
     << "    COMPREPLY=($(compgen -W \"$(" << fn << "_subcommands \"$cmdpath\") $(" << fn
     << "_positionals \"$cmdpath\")\" -- \"$cur\"))\n"
     << "  fi\n}\n"
     << "complete -F " << fn << " " << prog << "\n";
  return os.str();
}

std::string zsh_completion(const CLI::App& app, const std::string& prog) {
  std::vector<command_info> cmds;
  collect(&app, "", &cmds);
  auto fn = "_" + prog;
  auto item = [](const std::string& name, const std::string& desc) {
    std::string escaped;
    for (char c : name) escaped += c == ':' ? std::string("\\:") : std::string(1, c);
    return quote(escaped + ":" + desc);
  };
  std::ostringstream os;
  os << "#compdef " << prog << "\n# zsh completion for " << prog << ", generated by `" << prog
     << " completion zsh` from its own definition.\n# Load it with `source <(" << prog
     << " completion zsh)` after compinit, or save it as " << fn << " in $fpath.\n";
  helpers(os, fn, cmds);
  // "name:description" lines for _describe.
  case_function(os, fn + "_described_commands", cmds, [&](const command_info& c) {
    std::vector<std::string> items;
    for (auto& s : c.subcommands) items.push_back(item(s.first, s.second));
    for (auto& p : c.positionals)
      for (auto& choice : p.choices) items.push_back(item(choice, p.description));
    return items.empty() ? std::string() : "printf '%s\\n' " + join(items);
  });
  case_function(os, fn + "_described_options", cmds, [&](const command_info& c) {
    std::vector<std::string> items;
    for (auto& o : c.options)
      for (auto& n : o.names) items.push_back(item(n, o.description));
    return items.empty() ? std::string() : "printf '%s\\n' " + join(items);
  });
  os << fn << "() {\n"
     << "  local cur=${words[CURRENT]} prev=${words[CURRENT-1]}\n"
     << walk(fn, "words", "2", "CURRENT")
     << "  if [[ $prev == -* && $prev != *=* && \" $(" << fn
     << "_values \"$cmdpath\") \" == *\" $prev \"* ]]; then\n"
     << "    local -a choices\n    choices=(${(f)\"$(" << fn
     << "_choices \"$cmdpath\" \"$prev\" | tr ' ' '\\n')\"})\n"
     << "    if (( $#choices )); then compadd -- $choices; else _files; fi\n"
     << "    return\n  fi\n"
     << "  local -a items\n"
     << "  if [[ $cur == -* ]]; then\n"
     << "    items=(${(f)\"$(" << fn << "_described_options \"$cmdpath\")\"})\n"
     << "    _describe -t options option items\n"
     << "  else\n"
     << "    items=(${(f)\"$(" << fn << "_described_commands \"$cmdpath\")\"})\n"
     << "    _describe -t commands command items\n"
     << "  fi\n}\n"
     << "if [[ $funcstack[1] == " << fn << " ]]; then " << fn << " \"$@\"; else compdef " << fn
     << " " << prog << "; fi\n";
  return os.str();
}

}  // namespace chronicle::cli
