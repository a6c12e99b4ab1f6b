// Command render prints the manifests of a Helm 3 chart the way `helm template` does, for the
// features the LoanDesk chart uses. It exists because CI has no helm binary (only Debian's Go
// and Sprig): tests/deploy/test_helm.py renders deploy/helm/loandesk with it and validates the
// output against the Kubernetes schemas.
//
// Covered, as in Helm 3 (pkg/engine, pkg/chartutil): Go text/template with Sprig's TxtFuncMap
// (minus env and expandenv) and Helm's include, tpl, required, toYaml, fromYaml,
// fromYamlArray, toJson, fromJson, fromJsonArray, lookup (always empty, as in `helm
// template`); every file under templates/ parsed into one set, so _*.tpl defines named
// templates; files starting with _ and NOTES.txt are rendered but not printed; "<no value>"
// blanked out; .Values (values.yaml, then -f files merged in order, then --set, coalesced so
// that a null removes a default), .Release, .Chart, .Capabilities, .Template; the chart's
// kubeVersion checked; every rendered document parsed as YAML.
//
// Not covered: subcharts and dependencies, .Files, library charts, --set with list indexes or
// escaped dots, --set-string/--set-file, schema validation (the test does it with
// jsonschema), sorting by kind (documents come in file order).
//
// Debian installs Sprig v3 and semver v3 under their paths without /v3, and builds in GOPATH
// mode (minimal module compatibility resolves Sprig's own /v3 imports), hence the imports below.
// Build offline with Debian's packages (golang-go, golang-github-masterminds-sprig-dev,
// golang-k8s-sigs-yaml-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o render ./deploy/helm/render
//	./render [-f values.yaml]... [--set a.b=c]... [--name NAME] [--namespace NS] \
//	    [--kube-version v1.30.0] [--is-upgrade] CHART_DIR
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/semver"
	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

// Metadata is Chart.yaml, with the field names templates see under .Chart (Helm's
// chart.Metadata).
type Metadata struct {
	APIVersion   string            `json:"apiVersion"`
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	AppVersion   string            `json:"appVersion"`
	KubeVersion  string            `json:"kubeVersion"`
	Description  string            `json:"description"`
	Type         string            `json:"type"`
	Home         string            `json:"home"`
	Sources      []string          `json:"sources"`
	Keywords     []string          `json:"keywords"`
	Icon         string            `json:"icon"`
	Deprecated   bool              `json:"deprecated"`
	Annotations  map[string]string `json:"annotations"`
	Dependencies []interface{}     `json:"dependencies"`
}

// KubeVersion and Capabilities mirror chartutil.KubeVersion and chartutil.Capabilities.
type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (kv KubeVersion) String() string     { return kv.Version }
func (kv KubeVersion) GitVersion() string { return kv.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion map[string]string
}

// The built-in API versions of Kubernetes 1.23+ that charts usually ask about.
var defaultAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1",
	"networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	var valueFiles, sets, apiVersions multi
	name := flag.String("name", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.30.0", "Kubernetes version for .Capabilities")
	isUpgrade := flag.Bool("is-upgrade", false, "render as an upgrade (.Release.IsUpgrade)")
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Var(&sets, "set", "KEY.PATH=VALUE (repeatable; wins over -f)")
	flag.Var(&apiVersions, "api-versions", "extra API version for .Capabilities.APIVersions")
	showValues := flag.Bool("show-values", false,
		"print the values the templates see (JSON), as Helm validates them against values.schema.json")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: render [-f FILE]... [--set K=V]... CHART_DIR")
		os.Exit(2)
	}
	if *showValues {
		values, err := loadValues(flag.Arg(0), valueFiles, sets)
		if err == nil {
			var data []byte
			data, err = json.MarshalIndent(values, "", "  ")
			fmt.Println(string(data))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		return
	}
	out, err := render(flag.Arg(0), valueFiles, sets, *name, *namespace, *kubeVersion,
		*isUpgrade, apiVersions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func render(chartDir string, valueFiles, sets []string, name, namespace, kubeVersion string,
	isUpgrade bool, extraAPIs []string) (string, error) {
	var meta Metadata
	if err := readYAML(filepath.Join(chartDir, "Chart.yaml"), &meta); err != nil {
		return "", err
	}
	if meta.APIVersion != "v2" || meta.Name == "" || meta.Version == "" {
		return "", errors.New("Chart.yaml: apiVersion v2, name and version are required")
	}
	if len(meta.Dependencies) > 0 {
		return "", errors.New("Chart.yaml: dependencies are not supported by this renderer")
	}
	kv, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return "", fmt.Errorf("--kube-version: %w", err)
	}
	if meta.KubeVersion != "" {
		constraint, err := semver.NewConstraint(meta.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("Chart.yaml kubeVersion: %w", err)
		}
		if !constraint.Check(kv) {
			return "", fmt.Errorf("chart requires kubeVersion: %s which is incompatible with "+
				"Kubernetes %s", meta.KubeVersion, kubeVersion)
		}
	}
	values, err := loadValues(chartDir, valueFiles, sets)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Chart": meta,
		"Capabilities": Capabilities{
			KubeVersion: KubeVersion{
				Version: "v" + kv.String(),
				Major:   strconv.FormatUint(kv.Major(), 10),
				Minor:   strconv.FormatUint(kv.Minor(), 10),
			},
			APIVersions: append(VersionSet(defaultAPIVersions), extraAPIs...),
			HelmVersion: map[string]string{"Version": "v3"},
		},
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "Revision": 1,
			"IsInstall": !isUpgrade, "IsUpgrade": isUpgrade, "Service": "Helm",
		},
		"Values":    values,
		"Subcharts": map[string]interface{}{},
	}
	return renderTemplates(chartDir, meta.Name, top)
}

// --- values -------------------------------------------------------------------------------

func readYAML(file string, into interface{}) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	// sigs.k8s.io/yaml, as Helm reads values: YAML -> JSON, so numbers become float64.
	if err := yaml.Unmarshal(data, into); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

func loadValues(chartDir string, valueFiles, sets []string) (map[string]interface{}, error) {
	defaults := map[string]interface{}{}
	if err := readYAML(filepath.Join(chartDir, "values.yaml"), &defaults); err != nil {
		return nil, err
	}
	user := map[string]interface{}{}
	for _, file := range valueFiles {
		current := map[string]interface{}{}
		if err := readYAML(file, &current); err != nil {
			return nil, err
		}
		user = mergeMaps(user, current)
	}
	for _, set := range sets {
		if err := applySet(user, set); err != nil {
			return nil, err
		}
	}
	return coalesce(user, defaults), nil
}

// mergeMaps is Helm's cli/values mergeMaps: b wins, maps merge recursively.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if v, ok := v.(map[string]interface{}); ok {
			if bv, ok := out[k]; ok {
				if bv, ok := bv.(map[string]interface{}); ok {
					out[k] = mergeMaps(bv, v)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}

// coalesce is chartutil.CoalesceValues for a chart without subcharts: the user's values win,
// maps merge, and a user's null removes the chart's default.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	for k, dv := range defaults {
		uv, ok := user[k]
		if !ok {
			user[k] = dv
			continue
		}
		if uv == nil {
			delete(user, k)
			continue
		}
		um, uIsMap := uv.(map[string]interface{})
		dm, dIsMap := dv.(map[string]interface{})
		if uIsMap && dIsMap {
			user[k] = coalesce(um, dm)
		}
	}
	for k, v := range user {
		if v == nil {
			delete(user, k)
		}
	}
	return user
}

// applySet is a subset of Helm's strvals: a.b.c=VALUE, typed as Helm types it (null, true,
// false, a 64-bit integer, else a string); commas separate several assignments.
func applySet(values map[string]interface{}, set string) error {
	for _, assignment := range strings.Split(set, ",") {
		key, raw, ok := strings.Cut(assignment, "=")
		if !ok || key == "" {
			return fmt.Errorf("--set %q: write KEY=VALUE", assignment)
		}
		if strings.ContainsAny(key, "[]\\") {
			return fmt.Errorf("--set %q: list indexes and escapes are not supported", key)
		}
		parts := strings.Split(key, ".")
		node := values
		for _, part := range parts[:len(parts)-1] {
			next, ok := node[part].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				node[part] = next
			}
			node = next
		}
		node[parts[len(parts)-1]] = typed(raw)
	}
	return nil
}

func typed(raw string) interface{} {
	switch raw {
	case "null":
		return nil
	case "true":
		return true
	case "false":
		return false
	}
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil && (raw == "0" || raw[0] != '0') {
		return n
	}
	return raw
}

// --- templates ----------------------------------------------------------------------------

const recursionMaxNums = 1000

func renderTemplates(chartDir, chartName string, top map[string]interface{}) (string, error) {
	templatesDir := filepath.Join(chartDir, "templates")
	var files []string
	err := filepath.Walk(templatesDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)

	t := template.New("gotpl").Option("missingkey=zero")
	t.Funcs(funcMap(t))
	names := make([]string, 0, len(files))
	for _, file := range files {
		rel, _ := filepath.Rel(chartDir, file)
		name := path.Join(chartName, filepath.ToSlash(rel))
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		if _, err := t.New(name).Parse(string(data)); err != nil {
			return "", fmt.Errorf("parse error in %q: %w", name, err)
		}
		names = append(names, name)
	}

	var out strings.Builder
	for _, name := range names {
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{
			"Name": name, "BasePath": path.Join(chartName, "templates"),
		}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, vals); err != nil {
			return "", fmt.Errorf("execution error in %q: %w", name, err)
		}
		rendered := strings.ReplaceAll(buf.String(), "<no value>", "")
		base := path.Base(name)
		if strings.HasPrefix(base, "_") || base == "NOTES.txt" {
			continue
		}
		for _, doc := range splitDocuments(rendered) {
			var head map[string]interface{}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return "", fmt.Errorf("YAML parse error on %s: %w", name, err)
			}
			if head == nil {
				continue // a document of comments only
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, doc)
		}
	}
	return out.String(), nil
}

// splitDocuments splits at lines that are exactly "---" and drops blank documents.
func splitDocuments(text string) []string {
	var docs []string
	var current []string
	flush := func() {
		doc := strings.TrimSpace(strings.Join(current, "\n"))
		if doc != "" {
			docs = append(docs, strings.TrimRight(strings.Join(current, "\n"), " \n")+"")
		}
		current = nil
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimRight(line, " ") == "---" {
			flush()
			continue
		}
		current = append(current, line)
	}
	flush()
	for i, doc := range docs {
		docs[i] = strings.TrimLeft(doc, "\n")
	}
	return docs
}

func funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	included := map[string]int{}
	f["include"] = func(name string, data interface{}) (string, error) {
		if included[name] > recursionMaxNums {
			return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
		}
		included[name]++
		defer func() { included[name]-- }()
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	f["tpl"] = func(text string, vals interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		clone.Option("missingkey=zero")
		name := "tpl"
		if m, ok := vals.(map[string]interface{}); ok {
			if tm, ok := m["Template"].(map[string]interface{}); ok {
				if n, ok := tm["Name"].(string); ok {
					name = n
				}
			}
		}
		parsed, err := clone.New(name).Parse(text)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", text, err)
		}
		var buf strings.Builder
		if err := parsed.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["required"] = func(warn string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, errors.New(warn)
		}
		if s, ok := val.(string); ok && s == "" {
			return val, errors.New(warn)
		}
		return val, nil
	}
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(str string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(str), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromYamlArray"] = func(str string) []interface{} {
		a := []interface{}{}
		if err := yaml.Unmarshal([]byte(str), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(str string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(str), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["fromJsonArray"] = func(str string) []interface{} {
		a := []interface{}{}
		if err := json.Unmarshal([]byte(str), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	return f
}
