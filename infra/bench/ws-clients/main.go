// ws-clients: the client side of `bun run bench:websocket`. N authenticated WebSocket clients in one
// process (goroutines on Go's netpoller), so that the clients' own cost stays small next to the api's on
// a small machine: a client fleet in JavaScript spent more CPU reading 10,000 sockets than the api spent
// writing them. Each client subscribes to all uploads and notes the wall-clock arrival time of every
// `video.progress` tick (the tick's sequence number travels as its video id).
//
// Usage: ws-clients <config.json>; prints `ready <open> <refused>` once every client is subscribed, then
// waits for a `report` line on stdin and prints the arrivals as JSON.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type config struct {
	URL     string   `json:"url"`
	Cookies []string `json:"cookies"`
	Ticks   int      `json:"ticks"`
}

type report struct {
	Arrivals [][]float64 `json:"arrivals"`
	Lost     int64       `json:"lost"`
}

var progressPrefix = []byte(`{"type":"video.progress","id":`)

func nowMs() float64 { return float64(time.Now().UnixNano()) / 1e6 }

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ws-clients:", err)
		os.Exit(2)
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ws-clients: bad config:", err)
		os.Exit(2)
	}
	arrivals := make([][]float64, len(cfg.Cookies))
	for i := range arrivals {
		arrivals[i] = make([]float64, cfg.Ticks+1)
	}
	var open, refused, lost atomic.Int64
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 512}

	run := func(index int, subscribed *sync.WaitGroup) {
		header := http.Header{}
		header.Set("Cookie", cfg.Cookies[index])
		conn, _, err := dialer.Dial(cfg.URL, header)
		if err != nil {
			refused.Add(1)
			subscribed.Done()
			return
		}
		defer conn.Close()
		ready := false
		for {
			_, message, err := conn.ReadMessage()
			if err != nil {
				lost.Add(1)
				if !ready {
					subscribed.Done()
				}
				return
			}
			if bytes.HasPrefix(message, progressPrefix) {
				at := nowMs()
				rest := message[len(progressPrefix):]
				end := bytes.IndexByte(rest, ',')
				if seq, err := strconv.Atoi(string(rest[:max(end, 0)])); err == nil && seq > 0 && seq <= cfg.Ticks {
					arrivals[index][seq] = at
				}
			} else if !ready && bytes.Contains(message, []byte(`"welcome"`)) {
				if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","all_uploads":true}`)); err != nil {
					lost.Add(1)
					subscribed.Done()
					return
				}
			} else if !ready && bytes.Contains(message, []byte(`"subscribed"`)) {
				ready = true
				open.Add(1)
				subscribed.Done()
			}
		}
	}

	// Connect in waves, as a fleet of browsers would arrive, not all in one instant.
	for start := 0; start < len(cfg.Cookies); start += 250 {
		var wave sync.WaitGroup
		for i := start; i < min(start+250, len(cfg.Cookies)); i++ {
			wave.Add(1)
			go run(i, &wave)
		}
		wave.Wait()
	}
	fmt.Printf("ready %d %d\n", open.Load(), refused.Load())

	stdin := bufio.NewScanner(os.Stdin)
	for stdin.Scan() {
		if stdin.Text() == "report" {
			out := report{Arrivals: arrivals, Lost: lost.Load()}
			if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
				fmt.Fprintln(os.Stderr, "ws-clients:", err)
				os.Exit(1)
			}
			return
		}
	}
}
