package athenatest

import "database/sql"

// eventColumns are the dashboard's events columns (cloudtrail's
// migrations), which the secretgate_events view gives on Athena.
const eventColumns = `event_id, event_time, event_source, event_name, region, account_id, principal, principal_type,
	session_name, mfa, source_ip, user_agent, secret_id, key_id, parameter_name, error_code, error_message, is_read, via,
	(SELECT path FROM files WHERE id = file_id) AS file`

// LoadEvents gives the server a secretgate_events table holding the
// events of src (a dashboard database), with the trail's date partition
// log_date (yyyy/MM/dd) taken from each event's time: what the view shows
// Athena over the same trail. The test fails if the copy does.
func (s *Server) LoadEvents(src *sql.DB) {
	s.t.Helper()
	s.Exec(`CREATE TABLE secretgate_events (event_id TEXT, event_time INTEGER, event_source TEXT, event_name TEXT,
		region TEXT, account_id TEXT, principal TEXT, principal_type TEXT, session_name TEXT, mfa INTEGER, source_ip TEXT,
		user_agent TEXT, secret_id TEXT, key_id TEXT, parameter_name TEXT, error_code TEXT, error_message TEXT,
		is_read INTEGER, via TEXT, file TEXT, log_date TEXT)`)
	if err := s.copyEvents(src); err != nil {
		s.t.Fatalf("athenatest: load events: %v", err)
	}
}

func (s *Server) copyEvents(src *sql.DB) error {
	rows, err := src.Query(`SELECT ` + eventColumns + `, strftime('%Y/%m/%d', event_time / 1000, 'unixepoch') FROM events`)
	if err != nil {
		return err
	}
	defer rows.Close()
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO secretgate_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	vals := make([]any, 21)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if _, err := ins.Exec(vals...); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tx.Commit()
}
