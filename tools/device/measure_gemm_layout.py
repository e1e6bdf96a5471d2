"""Sustained large BF16 GEMMs on one NVIDIA GPU, in the three layouts a training step uses, with
the board's clock and power read alongside (data/measurements/device/*_gemm_layout.json).

    OUT=dir python tools/device/measure_gemm_layout.py

For 8192^3, 16384^3 and a Llama 3 8B gate/up shape: NN (a @ b), NT (a @ w.t(), a linear layer's
forward), TN (a.t() @ b, its weight gradient), with and without ``out=``, on random normal data made
in bf16 or in fp32 and converted, and on uniform [0, 1) data; 9 timed trials of 10-40 back-to-back
products each, median. A thread reads nvidia-smi (SM clock, power draw, temperature) every 0.2 s.
Clocks and power limit are read, never set. Read by infra_lab.compute.device_gemm_layout_check.
"""
import torch, time, json, os, statistics, subprocess, threading
dev='cuda'; out=os.environ.get('OUT','.')
res=[]
clk=[]
stop=False
def poll():
    while not stop:
        r=subprocess.run(['nvidia-smi','--query-gpu=clocks.sm,power.draw,temperature.gpu','--format=csv,noheader'],capture_output=True,text=True).stdout.strip()
        clk.append((time.time(),r)); time.sleep(0.2)
th=threading.Thread(target=poll,daemon=True); th.start()
def bench(f, iters):
    for _ in range(5): f()
    torch.cuda.synchronize()
    ts=[]
    for _ in range(9):
        a=torch.cuda.Event(enable_timing=True); b=torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(iters): f()
        b.record(); b.synchronize(); ts.append(a.elapsed_time(b)/1e3/iters)
    return statistics.median(ts), ts
for (m,n,k) in ((8192,8192,8192),(16384,16384,16384),(8192,28672,4096)):
    it = 40 if m==8192 and n==8192 else 10
    for init in ('randn_bf16','randn_f32_to_bf16','uniform'):
        g=torch.Generator(device=dev).manual_seed(1)
        if init=='randn_bf16':
            A=torch.randn(m,k,device=dev,dtype=torch.bfloat16,generator=g); Bkn=torch.randn(k,n,device=dev,dtype=torch.bfloat16,generator=g); Bnk=torch.randn(n,k,device=dev,dtype=torch.bfloat16,generator=g); Akm=torch.randn(k,m,device=dev,dtype=torch.bfloat16,generator=g)
        elif init=='randn_f32_to_bf16':
            A=torch.randn(m,k,device=dev,generator=g).bfloat16(); Bkn=torch.randn(k,n,device=dev,generator=g).bfloat16(); Bnk=torch.randn(n,k,device=dev,generator=g).bfloat16(); Akm=torch.randn(k,m,device=dev,generator=g).bfloat16()
        else:
            A=torch.rand(m,k,device=dev,generator=g).bfloat16(); Bkn=torch.rand(k,n,device=dev,generator=g).bfloat16(); Bnk=torch.rand(n,k,device=dev,generator=g).bfloat16(); Akm=torch.rand(k,m,device=dev,generator=g).bfloat16()
        C=torch.empty(m,n,device=dev,dtype=torch.bfloat16)
        cases={'NN a@b':lambda: A@Bkn,'NT a@w.t()':lambda: A@Bnk.t(),'TN at.t()@b':lambda: Akm.t()@Bkn,
               'NN mm out=':lambda: torch.mm(A,Bkn,out=C),'NT mm out=':lambda: torch.mm(A,Bnk.t(),out=C)}
        if init!='randn_bf16': cases={k2:v for k2,v in cases.items() if k2 in ('NN a@b','NT a@w.t()')}
        for name,f in cases.items():
            t,ts=bench(f,it)
            r=dict(m=m,n=n,k=k,init=init,layout=name,time_s=t,tflops=2*m*n*k/t/1e12,trials_s=ts,t=time.time())
            res.append(r); print(m,n,k,init,name,round(r['tflops'],1),flush=True)
        del A,Bkn,Bnk,Akm,C; torch.cuda.empty_cache()
stop=True; th.join()
json.dump(dict(torch=torch.__version__,results=res,clocks=clk),open(os.path.join(out,'layout.json'),'w'),indent=1)
print('clock samples', len(clk), clk[::max(1,len(clk)//12)])
