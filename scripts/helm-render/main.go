// helm-render renders a Helm chart the way `helm template` does, for
// machines without helm (Debian has no helm package). It is Helm's own
// template language: Go's text/template with the sprig functions (Debian's
// golang-github-masterminds-sprig-dev, the library helm uses) and helm's
// additions (include, tpl, required, toYaml, fromYaml, toJson, fromJson,
// lookup), with helm's data (.Values, .Release, .Chart, .Capabilities,
// .Template) and its rules: templates/_* are partials, NOTES.txt is rendered
// apart, "<no value>" becomes "", empty outputs are dropped. It does not
// install, validate values.schema.json, read subcharts or offer .Files;
// scripts/validate-manifests.py does the checks around it.
//
//	helm-render [-f values.yaml]... [--namespace NS] [--release NAME] [--strict] [--include-crds] [--notes] CHART
//
// Output: the documents of every template, each after "---" and a
// "# Source: CHART/templates/FILE" line; with --notes only NOTES.txt.
// Built by scripts/validate-manifests.py with Debian's Go in GOPATH mode.
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
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

// chartMetadata is .Chart: the fields of Chart.yaml that templates use, with
// helm's Go names (.Chart.Name, .Chart.AppVersion, ...).
type chartMetadata struct {
	APIVersion  string            `json:"apiVersion"`
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	AppVersion  string            `json:"appVersion,omitempty"`
	Description string            `json:"description,omitempty"`
	Type        string            `json:"type,omitempty"`
	KubeVersion string            `json:"kubeVersion,omitempty"`
	Home        string            `json:"home,omitempty"`
	Icon        string            `json:"icon,omitempty"`
	Keywords    []string          `json:"keywords,omitempty"`
	Sources     []string          `json:"sources,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Deprecated  bool              `json:"deprecated,omitempty"`
}

// kubeVersion and capabilities are .Capabilities, for a recent cluster.
type kubeVersion struct{ Version, Major, Minor, GitVersion string }

func (v kubeVersion) String() string { return v.Version }

type apiVersions []string

// Has is .Capabilities.APIVersions.Has "apps/v1".
func (a apiVersions) Has(version string) bool {
	for _, known := range a {
		if known == version {
			return true
		}
	}
	return false
}

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions apiVersions
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var valueFiles stringList
	flag.Var(&valueFiles, "f", "a values file merged over the chart's values.yaml (repeatable)")
	namespace := flag.String("namespace", "default", ".Release.Namespace")
	release := flag.String("release", "release-name", ".Release.Name")
	strict := flag.Bool("strict", false, "a reference to a missing key is an error (helm lint --strict)")
	includeCRDs := flag.Bool("include-crds", false, "print the chart's crds/ files first")
	notes := flag.Bool("notes", false, "print only the rendered NOTES.txt")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helm-render [-f values.yaml]... [--namespace NS] [--release NAME] [--strict] [--include-crds] [--notes] CHART")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), valueFiles, *namespace, *release, *strict, *includeCRDs, *notes)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm-render:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

func render(chartDir string, valueFiles []string, namespace, release string, strict, includeCRDs, notesOnly bool) (string, error) {
	var chart chartMetadata
	if err := readYAML(filepath.Join(chartDir, "Chart.yaml"), &chart, true); err != nil {
		return "", err
	}
	if chart.APIVersion != "v2" || chart.Name == "" || chart.Version == "" {
		return "", fmt.Errorf("%s: apiVersion v2, name and version are required", filepath.Join(chartDir, "Chart.yaml"))
	}
	values := map[string]interface{}{}
	if err := readYAML(filepath.Join(chartDir, "values.yaml"), &values, false); err != nil {
		return "", err
	}
	for _, file := range valueFiles {
		override := map[string]interface{}{}
		if err := readYAML(file, &override, false); err != nil {
			return "", err
		}
		values = coalesce(override, values)
	}
	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": release, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": &chart,
		"Capabilities": capabilities{
			KubeVersion: kubeVersion{Version: "v1.32.0", Major: "1", Minor: "32", GitVersion: "v1.32.0"},
			APIVersions: apiVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "coordination.k8s.io/v1", "apiextensions.k8s.io/v1"},
		},
	}

	// Every file under templates/ is parsed into one set, named
	// CHART/templates/PATH as in helm, so they can include each other.
	root := template.New("chart")
	if strict {
		root.Option("missingkey=error")
	} else {
		root.Option("missingkey=zero")
	}
	root.Funcs(funcMap(root))
	var names []string
	templatesDir := filepath.Join(chartDir, "templates")
	err := filepath.Walk(templatesDir, func(file string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		relative, _ := filepath.Rel(chartDir, file)
		name := path.Join(chart.Name, filepath.ToSlash(relative))
		if _, err := root.New(name).Parse(string(text)); err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)

	var out strings.Builder
	if includeCRDs && !notesOnly {
		crds, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
		sort.Strings(crds)
		for _, file := range crds {
			text, err := os.ReadFile(file) // follows symlinks, as helm does
			if err != nil {
				return "", err
			}
			fmt.Fprintf(&out, "---\n# Source: %s/crds/%s\n%s", chart.Name, filepath.Base(file), text)
		}
	}
	for _, name := range names {
		base := path.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notesOnly {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": name, "BasePath": path.Join(chart.Name, "templates")}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, top); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if strings.TrimSpace(text) == "" {
			continue
		}
		if notesOnly {
			out.WriteString(text)
		} else {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, strings.TrimRight(text, "\n"))
		}
	}
	return out.String(), nil
}

// readYAML reads a YAML file into v, through JSON as helm does
// (sigs.k8s.io/yaml: numbers become float64).
func readYAML(file string, v interface{}, strict bool) error {
	text, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if strict {
		err = yaml.UnmarshalStrict(text, v)
	} else {
		err = yaml.Unmarshal(text, v)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", file, err)
	}
	return nil
}

// coalesce merges override over base like helm's values: maps merge key by
// key, anything else replaces, and a null removes the key.
func coalesce(override, base map[string]interface{}) map[string]interface{} {
	merged := map[string]interface{}{}
	for key, value := range base {
		merged[key] = value
	}
	for key, value := range override {
		if value == nil {
			delete(merged, key)
			continue
		}
		overrideMap, isMap := value.(map[string]interface{})
		baseMap, baseIsMap := merged[key].(map[string]interface{})
		if isMap && baseIsMap {
			merged[key] = coalesce(overrideMap, baseMap)
		} else {
			merged[key] = value
		}
	}
	return merged
}

// funcMap is helm's: sprig without env and expandenv, plus helm's own.
func funcMap(root *template.Template) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	depth := map[string]int{}
	extra := template.FuncMap{
		"toYaml": func(v interface{}) string {
			data, err := yaml.Marshal(v)
			if err != nil {
				return ""
			}
			return strings.TrimSuffix(string(data), "\n")
		},
		"fromYaml": func(text string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := yaml.Unmarshal([]byte(text), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromYamlArray": func(text string) []interface{} {
			a := []interface{}{}
			if err := yaml.Unmarshal([]byte(text), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"toJson": func(v interface{}) string {
			data, err := json.Marshal(v)
			if err != nil {
				return ""
			}
			return string(data)
		},
		"fromJson": func(text string) map[string]interface{} {
			m := map[string]interface{}{}
			if err := json.Unmarshal([]byte(text), &m); err != nil {
				m["Error"] = err.Error()
			}
			return m
		},
		"fromJsonArray": func(text string) []interface{} {
			a := []interface{}{}
			if err := json.Unmarshal([]byte(text), &a); err != nil {
				a = []interface{}{err.Error()}
			}
			return a
		},
		"include": func(name string, data interface{}) (string, error) {
			if depth[name] > 1000 {
				return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
			}
			depth[name]++
			defer func() { depth[name]-- }()
			var buf strings.Builder
			err := root.ExecuteTemplate(&buf, name, data)
			return buf.String(), err
		},
		"tpl": func(text string, data interface{}) (string, error) {
			clone, err := root.Clone()
			if err != nil {
				return "", err
			}
			t, err := clone.New("tpl").Parse(text)
			if err != nil {
				return "", err
			}
			var buf strings.Builder
			if err := t.Execute(&buf, data); err != nil {
				return "", err
			}
			return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
		},
		"required": func(message string, value interface{}) (interface{}, error) {
			if value == nil {
				return nil, errors.New(message)
			}
			if s, ok := value.(string); ok && s == "" {
				return nil, errors.New(message)
			}
			return value, nil
		},
		// No cluster to look in: helm template answers lookups with nothing too.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
	}
	for name, f := range extra {
		funcs[name] = f
	}
	return funcs
}
