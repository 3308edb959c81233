// dockerfile-lint: Docker's own Dockerfile checks (BuildKit's rules, as `docker build --check` runs them)
// without a Docker engine or registry access, plus this project's image policy. infra/check-ops.sh runs it.
//
//	dockerfile-lint [-context DIR] DOCKERFILE...
//
// Prints `file:line: Rule: message` per finding and exits 1 when there is any (2 for usage errors).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

type finding struct {
	line    int
	rule    string
	message string
}

func main() {
	contextDir := flag.String("context", ".", "build context the COPY sources are checked against (with its .dockerignore)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-lint [-context DIR] DOCKERFILE...")
		os.Exit(2)
	}
	ignored, err := dockerignore(*contextDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dockerfile-lint: %v\n", err)
		os.Exit(2)
	}
	total := 0
	for _, file := range flag.Args() {
		findings, err := lintFile(file, *contextDir, ignored)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", file, err)
			total++
			continue
		}
		for _, f := range findings {
			fmt.Printf("%s:%d: %s: %s\n", file, f.line, f.rule, f.message)
		}
		total += len(findings)
	}
	if total > 0 {
		os.Exit(1)
	}
}

func lintFile(file, contextDir string, ignored *patternmatcher.PatternMatcher) ([]finding, error) {
	dt, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var findings []finding

	// BuildKit's checks: every rule `docker build --check` applies, including the ones that need the
	// stages resolved (UndefinedVar, SecretsUsedInArgOrEnv, …). Base images resolve offline.
	sourceMap := llb.NewSourceMap(nil, file, "Dockerfile", dt)
	sourceMap.Definition = &llb.Definition{}
	results, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sourceMap,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		return nil, err
	}
	for _, w := range results.Warnings {
		findings = append(findings, finding{line: firstLine(w.Location.GetRanges()), rule: w.RuleName, message: w.Detail})
	}
	if results.Error != nil {
		findings = append(findings, finding{line: firstLine(results.Error.Location.GetRanges()), rule: "BuildError", message: results.Error.Message})
	}

	// The project's policy, on the parsed instructions.
	parsed, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, err
	}
	stages, metaArgs, err := instructions.Parse(parsed.AST, linter.New(&linter.Config{SkipAll: true}))
	if err != nil {
		return nil, err
	}
	args := map[string]string{}
	for _, arg := range metaArgs {
		for _, kv := range arg.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	findings = append(findings, policy(stages, args, contextDir, ignored)...)
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].line < findings[j].line })
	return findings, nil
}

var aptInstall = regexp.MustCompile(`apt(-get)?\s+install`)

func policy(stages []instructions.Stage, args map[string]string, contextDir string, ignored *patternmatcher.PatternMatcher) []finding {
	var out []finding
	names := map[string]bool{}
	for _, stage := range stages {
		base := expand(stage.BaseName, args)
		if !names[strings.ToLower(base)] && base != "scratch" {
			if msg := unpinned(base); msg != "" {
				out = append(out, finding{firstRange(stage.Location), "PinnedBaseImage", msg})
			}
		}
		if stage.Name != "" {
			names[strings.ToLower(stage.Name)] = true
		}
		for _, cmd := range stage.Commands {
			line := firstRange(cmd.Location())
			switch c := cmd.(type) {
			case *instructions.AddCommand:
				out = append(out, finding{line, "NoAdd", "use COPY (ADD fetches URLs and unpacks archives implicitly)"})
			case *instructions.CopyCommand:
				if c.From == "" {
					for _, src := range c.SourcePaths {
						if msg := copySource(src, contextDir, ignored); msg != "" {
							out = append(out, finding{line, "CopySource", msg})
						}
					}
				}
			case *instructions.RunCommand:
				script := strings.Join(c.CmdLine, " ")
				if aptInstall.MatchString(script) {
					for _, need := range []string{"--no-install-recommends", "-y", "rm -rf /var/lib/apt/lists"} {
						if !strings.Contains(script, need) {
							out = append(out, finding{line, "AptHygiene", fmt.Sprintf("apt install without %q", need)})
						}
					}
				}
			}
		}
	}
	if len(stages) == 0 {
		return out
	}
	final := stages[len(stages)-1]
	var user *instructions.UserCommand
	var health *instructions.HealthCheckCommand
	for _, cmd := range final.Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c
		case *instructions.HealthCheckCommand:
			health = c
		}
	}
	finalLine := firstRange(final.Location)
	if user == nil {
		out = append(out, finding{finalLine, "NonRootUser", "the final stage never sets USER: the container would run as root"})
	} else if u := strings.SplitN(expand(user.User, args), ":", 2)[0]; u == "root" || u == "0" {
		out = append(out, finding{firstRange(user.Location()), "NonRootUser", "the final stage runs as root"})
	}
	if health == nil || (len(health.Health.Test) > 0 && health.Health.Test[0] == "NONE") {
		out = append(out, finding{finalLine, "HealthcheckRequired", "the final stage has no HEALTHCHECK"})
	}
	return out
}

// unpinned explains why a base image reference is not reproducible, or returns "".
func unpinned(image string) string {
	if strings.Contains(image, "$") {
		return fmt.Sprintf("base image %q uses a build argument without a default", image)
	}
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return fmt.Sprintf("base image %q: %v", image, err)
	}
	if _, ok := named.(reference.Digested); ok {
		return ""
	}
	tagged, ok := named.(reference.Tagged)
	if !ok || tagged.Tag() == "latest" {
		return fmt.Sprintf("base image %q has no version tag (latest changes under you)", image)
	}
	return ""
}

// copySource checks that a COPY source exists in the context and is not excluded by .dockerignore.
func copySource(src, contextDir string, ignored *patternmatcher.PatternMatcher) string {
	clean := filepath.Clean(strings.TrimPrefix(src, "/"))
	matches, err := filepath.Glob(filepath.Join(contextDir, clean))
	if err != nil || len(matches) == 0 {
		return fmt.Sprintf("%q is not in the build context", src)
	}
	if ignored != nil {
		excluded, err := ignored.MatchesOrParentMatches(clean)
		if err == nil && excluded {
			return fmt.Sprintf("%q is excluded by .dockerignore", src)
		}
	}
	return ""
}

func dockerignore(contextDir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(contextDir, ".dockerignore"))
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return patternmatcher.New(patterns)
}

var argReference = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func expand(value string, args map[string]string) string {
	return argReference.ReplaceAllStringFunc(value, func(ref string) string {
		name := argReference.FindStringSubmatch(ref)[1]
		if v, ok := args[name]; ok {
			return v
		}
		return ref
	})
}

func firstRange(ranges []parser.Range) int {
	if len(ranges) == 0 {
		return 0
	}
	return ranges[0].Start.Line
}

func firstLine(ranges []*pb.Range) int {
	if len(ranges) == 0 {
		return 0
	}
	return int(ranges[0].GetStart().GetLine())
}

// offlineResolver answers every base image lookup with an empty image for the requested platform, so
// linting needs no registry (the checks that matter do not depend on the base image's contents).
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	image := map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + strings.Repeat("0", 64)}},
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		image["architecture"] = opt.ImageOpt.Platform.Architecture
		image["os"] = opt.ImageOpt.Platform.OS
	}
	dt, err := json.Marshal(image)
	return ref, "", dt, err
}
