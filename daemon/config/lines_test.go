package config

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyLines(t *testing.T) {
	doc := `# a comment with key = 1 in it
a = """
b = 1
"""
c = [
  1, # d = 2
  "]", '[',
]
[t]   # the table
'q k' = 1
"e\"x" = 2
x.y = 3
s = '''
''z = 1'''
m = """quote\""" w = 1 """
[[arr]]
z = 1
[ u . "v" ]
w = {i = 1, j = [
  2]}
last = 1`
	var m map[string]any
	if _, err := toml.Decode(doc, &m); err != nil {
		t.Fatalf("test document is not valid TOML: %v", err)
	}
	lines := keyLines([]byte(doc))
	want := map[string]int{
		"a": 2, "c": 5, "t": 9, "t q k": 10, `t e"x`: 11, "t x": 12, "t x y": 12,
		"t s": 13, "t m": 15, "arr": 16, "arr z": 17, "u": 18, "u v": 18, "u v w": 19, "u v last": 21,
	}
	for k, w := range want {
		key := strings.Split(k, " ")
		if k == "t q k" {
			key = []string{"t", "q k"}
		}
		if got := lines[joinKey(key)]; got != w {
			t.Errorf("line of %q = %d, want %d", k, got, w)
		}
	}
	for _, k := range [][]string{{"b"}, {"d"}, {"t", "z"}, {"t", "w"}} {
		if got, ok := lines[joinKey(k)]; ok {
			t.Errorf("key %q found at line %d, but it is inside a string or comment", k, got)
		}
	}
	if got := lineOf(lines, []string{"u", "v", "w", "i"}); got != 19 {
		t.Errorf("lineOf(u.v.w.i) = %d, want 19, the line of its inline table", got)
	}
	if got := lineOf(lines, []string{"nope"}); got != 0 {
		t.Errorf("lineOf(nope) = %d, want 0", got)
	}
}

// TestKeyLinesAgreesWithLibrary checks the scanner against the line the TOML
// library itself reports for each key of config.toml.
func TestKeyLinesAgreesWithLibrary(t *testing.T) {
	data, err := os.ReadFile(rootConfig)
	if err != nil {
		t.Fatal(err)
	}
	lines := keyLines(data)
	for _, key := range Keys() {
		path := strings.Split(key, ".")
		want := libraryLine(t, data, path)
		if got := lines[joinKey(path)]; got != want {
			t.Errorf("keyLines: %s at line %d, the TOML library says %d", key, got, want)
		}
	}
}

// libraryLine makes the TOML library report the line of key: decoding its
// value into a type no TOML value fits gives an error naming the line.
func libraryLine(t *testing.T, data []byte, key []string) int {
	t.Helper()
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		t.Fatal(err)
	}
	prim := top[key[0]]
	if len(key) == 2 {
		var table map[string]toml.Primitive
		if err := md.PrimitiveDecode(prim, &table); err != nil {
			t.Fatal(err)
		}
		prim = table[key[1]]
	}
	var impossible []chan int
	err = md.PrimitiveDecode(prim, &impossible)
	m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("decoding %v into a channel slice: error %v names no line", key, err)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
