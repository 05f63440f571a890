package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secretgate/secretgate/internal/scan"
	"github.com/secretgate/secretgate/rules"
)

// SARIF 2.1.0, in the subset GitHub code scanning reads:
// https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning
const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"

	// fingerprintKey names our fingerprint in partialFingerprints; the
	// version lets the fingerprint scheme change without merging alerts.
	fingerprintKey = "secretgate/v1"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          *sarifResultProps `json:"properties,omitempty"`
}

type sarifResultProps struct {
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	Date   string `json:"date,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifArtifactLocation struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
	EndLine     int `json:"endLine,omitempty"`
	EndColumn   int `json:"endColumn,omitempty"`
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s rules.Severity) string {
	switch {
	case s >= rules.High:
		return "error"
	case s == rules.Medium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity maps a severity to GitHub's 0.0–10.0 score, which it
// buckets as critical (>9.0), high (7.0–8.9), medium (4.0–6.9), low (0.1–3.9).
func securitySeverity(s rules.Severity) string {
	switch {
	case s >= rules.Critical:
		return "9.5"
	case s == rules.High:
		return "8.0"
	case s == rules.Medium:
		return "5.5"
	case s == rules.Low:
		return "3.0"
	default:
		return "1.0"
	}
}

// WriteSARIF writes one SARIF 2.1.0 run. Only rules with results are
// listed, in order of their first result. Messages carry the redacted
// preview, never the secret. Paths should be relative to the repository
// root, as GitHub resolves them so.
func WriteSARIF(w io.Writer, findings []scan.Finding) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "secretgate",
			InformationURI: InformationURI,
			Version:        Version,
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
	}
	index := map[string]int{}
	for _, f := range findings {
		i, ok := index[f.RuleID]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[f.RuleID] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, ruleOf(f))
		}
		run.Results = append(run.Results, resultOf(f, i))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

func ruleOf(f scan.Finding) sarifRule {
	desc := f.Description
	if desc == "" {
		desc = f.RuleID
	}
	// GitHub applies security-severity only to rules tagged "security".
	tags := []string{"security", "secret"}
	for _, t := range f.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return sarifRule{
		ID:                   f.RuleID,
		Name:                 f.RuleID,
		ShortDescription:     sarifText{desc},
		FullDescription:      sarifText{desc},
		DefaultConfiguration: sarifConfiguration{sarifLevel(f.Severity)},
		Properties:           sarifRuleProps{Tags: tags, SecuritySeverity: securitySeverity(f.Severity)},
	}
}

func resultOf(f scan.Finding, ruleIndex int) sarifResult {
	msg := f.Description
	if msg == "" {
		msg = f.RuleID
	}
	if f.Redacted != "" {
		msg += ": " + f.Redacted
	}
	r := sarifResult{
		RuleID:    f.RuleID,
		RuleIndex: ruleIndex,
		Level:     sarifLevel(f.Severity),
		Message:   sarifText{msg},
		Locations: []sarifLocation{{PhysicalLocation: sarifPhysicalLocation{
			ArtifactLocation: sarifArtifactLocation{URI: artifactURI(f.Path)},
			Region:           regionOf(f),
		}}},
	}
	if f.Fingerprint != "" {
		r.PartialFingerprints = map[string]string{fingerprintKey: f.Fingerprint}
	}
	if f.Commit != "" || f.Author != "" || !f.Date.IsZero() {
		r.Properties = &sarifResultProps{Commit: f.Commit, Author: f.Author, Date: formatDate(f.Date)}
	}
	return r
}

// regionOf gives a region GitHub accepts: startLine is required and at
// least 1. Finding columns are 1-based and EndColumn is one past the
// secret's last character, as SARIF's endColumn is; an empty region (a
// path-only finding) is given by its start alone.
func regionOf(f scan.Finding) sarifRegion {
	reg := sarifRegion{StartLine: max(f.Line, 1)}
	if f.Column > 0 {
		reg.StartColumn = f.Column
	}
	if f.EndLine > reg.StartLine || (f.EndLine == reg.StartLine && f.EndColumn > f.Column) {
		reg.EndLine = f.EndLine
		if f.EndColumn > 0 {
			reg.EndColumn = f.EndColumn
		}
	}
	return reg
}

// artifactURI turns a path into a relative URI reference with forward
// slashes. A finding without a path (stdin) gets "stdin": GitHub needs a
// non-empty uri.
func artifactURI(p string) string {
	if p == "" {
		return "stdin"
	}
	p = strings.ReplaceAll(filepath.ToSlash(p), `\`, "/")
	if path.IsAbs(p) {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: path.Clean(p)}).String()
}
