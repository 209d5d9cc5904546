# A strict JSON reader for the grader's scripts (plain awk: mawk or gawk),
# so that checking and reading results.json needs no tool beyond the base
# system. It parses the whole input (RFC 8259: one value, objects, arrays,
# strings with their escapes and no raw control characters, numbers,
# true/false/null, nothing after the value) and then
#
#   awk -f json.awk FILE                 prints every leaf as PATH<TAB>VALUE,
#                                        VALUE as written (a string keeps its
#                                        quotes and escapes, so it is one line);
#                                        an empty object or array prints {} or [];
#   awk -v get=PATH -f json.awk FILE     prints that one leaf, a string decoded
#                                        (\n becomes a newline); exit 1 if absent.
#
# PATH: .key for a member, [N] for an array element, e.g. .tests[0].status.
# Invalid JSON prints "json: FILE: byte N: what was expected" on stderr and
# exits 2; nothing is printed to stdout then, so a caller never reads half a
# document.
BEGIN {
	for (i = 1; i < 32; i++) ctrl = ctrl sprintf("%c", i)
	hex = "0123456789abcdefABCDEF"
}
{ doc = doc $0 "\n" }
END {
	name = FILENAME == "" || FILENAME == "-" ? "stdin" : FILENAME
	n = length(doc); pos = 1; nleaves = 0
	skip_ws()
	if (pos > n) fail("a value (the input is empty)")
	parse_value("")
	skip_ws()
	if (pos <= n) fail("the end of the input after the value")
	if (get != "") {
		for (i = 1; i <= nleaves; i++)
			if (leaf_path[i] == get) { printf "%s\n", decode(leaf_value[i]); exit 0 }
		exit 1
	}
	for (i = 1; i <= nleaves; i++) print leaf_path[i] "\t" leaf_value[i]
	exit 0
}

function fail(what) {
	printf "json: %s: byte %d: expected %s\n", name, pos, what > "/dev/stderr"
	exit 2
}
function skip_ws(   c) {
	while (pos <= n) {
		c = substr(doc, pos, 1)
		if (c != " " && c != "\t" && c != "\n" && c != "\r") return
		pos++
	}
}
function leaf(path, value) { leaf_path[++nleaves] = path; leaf_value[nleaves] = value }

function parse_value(path,   c, start) {
	c = substr(doc, pos, 1)
	if (c == "{") return parse_object(path)
	if (c == "[") return parse_array(path)
	if (c == "\"") { leaf(path, parse_string()); return }
	if (c == "-" || index("0123456789", c)) { leaf(path, parse_number()); return }
	if (substr(doc, pos, 4) == "true") { pos += 4; leaf(path, "true"); return }
	if (substr(doc, pos, 5) == "false") { pos += 5; leaf(path, "false"); return }
	if (substr(doc, pos, 4) == "null") { pos += 4; leaf(path, "null"); return }
	fail("a value (object, array, string, number, true, false or null)")
}

function parse_object(path,   key, count) {
	pos++
	skip_ws()
	if (substr(doc, pos, 1) == "}") { pos++; leaf(path, "{}"); return }
	for (count = 0; ; count++) {
		if (substr(doc, pos, 1) != "\"") fail("a member name in double quotes")
		key = decode(parse_string())
		skip_ws()
		if (substr(doc, pos, 1) != ":") fail("':' after a member name")
		pos++
		skip_ws()
		parse_value(path "." key)
		skip_ws()
		if (substr(doc, pos, 1) == ",") { pos++; skip_ws(); continue }
		if (substr(doc, pos, 1) == "}") { pos++; return }
		fail("',' or '}' in an object")
	}
}

function parse_array(path,   i) {
	pos++
	skip_ws()
	if (substr(doc, pos, 1) == "]") { pos++; leaf(path, "[]"); return }
	for (i = 0; ; i++) {
		parse_value(path "[" i "]")
		skip_ws()
		if (substr(doc, pos, 1) == ",") { pos++; skip_ws(); continue }
		if (substr(doc, pos, 1) == "]") { pos++; return }
		fail("',' or ']' in an array")
	}
}

# Returns the string token as written, quotes included.
function parse_string(   start, c, k) {
	start = pos
	pos++
	while (pos <= n) {
		c = substr(doc, pos, 1)
		if (c == "\"") { pos++; return substr(doc, start, pos - start) }
		if (index(ctrl, c)) fail("no raw control character in a string (escape it)")
		if (c == "\\") {
			c = substr(doc, pos + 1, 1)
			if (c == "u") {
				for (k = 2; k <= 5; k++)
					if (!index(hex, substr(doc, pos + k, 1))) fail("four hex digits after \\u")
				pos += 6
				continue
			}
			if (!index("\"\\/bfnrt", c) || c == "") fail("an escape: one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
			pos += 2
			continue
		}
		pos++
	}
	fail("the closing '\"' of a string")
}

function parse_number(   start) {
	start = pos
	if (substr(doc, pos, 1) == "-") pos++
	if (substr(doc, pos, 1) == "0") pos++
	else if (index("123456789", substr(doc, pos, 1))) digits()
	else fail("a digit in a number")
	if (substr(doc, pos, 1) == ".") {
		pos++
		if (!index("0123456789", substr(doc, pos, 1))) fail("a digit after the decimal point")
		digits()
	}
	if (substr(doc, pos, 1) == "e" || substr(doc, pos, 1) == "E") {
		pos++
		if (substr(doc, pos, 1) == "+" || substr(doc, pos, 1) == "-") pos++
		if (!index("0123456789", substr(doc, pos, 1))) fail("a digit in an exponent")
		digits()
	}
	return substr(doc, start, pos - start)
}
function digits() { while (pos <= n && index("0123456789", substr(doc, pos, 1))) pos++ }

# A string token's text (\uXXXX below 0x80 as that character, above as '?');
# any other token as it is.
function decode(tok,   out, i, c, e, code) {
	if (substr(tok, 1, 1) != "\"") return tok
	tok = substr(tok, 2, length(tok) - 2)
	out = ""
	for (i = 1; i <= length(tok); i++) {
		c = substr(tok, i, 1)
		if (c != "\\") { out = out c; continue }
		e = substr(tok, ++i, 1)
		if (e == "n") out = out "\n"
		else if (e == "t") out = out "\t"
		else if (e == "r") out = out "\r"
		else if (e == "b") out = out "\b"
		else if (e == "f") out = out "\f"
		else if (e == "u") {
			code = hexval(substr(tok, i + 1, 4))
			out = out (code > 0 && code < 128 ? sprintf("%c", code) : "?")
			i += 4
		} else out = out e
	}
	return out
}
function hexval(s,   i, v) {
	v = 0
	for (i = 1; i <= 4; i++) v = v * 16 + (index("0123456789abcdef", tolower(substr(s, i, 1))) - 1)
	return v
}
